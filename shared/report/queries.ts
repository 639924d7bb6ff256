// Reads the history a report, a history query or the Security Hub export needs, through the store's
// interface only (Query on the table's keys and indexes, every page; never a Scan).
//
// The state of an endpoint at `from` is not stored anywhere as such; it follows from its events:
// - an endpoint with events in the period: its first event's `previous` says whether it was exposed at
//   `from`; if it was, its events before `from` are read back to the one that opened the window.
// - an endpoint without events in the period was in one state throughout. It was exposed throughout if
//   it is exposed now with no event since `from`, or if its first event after `to` comes from an exposed
//   state; those are read back the same way. Events after `to` are read only to find these.
import type { StateChangeEvent } from "../exposure/model.ts";
import { allItems, type EndpointState, type ExposureStore } from "../store/store.ts";
import { toIso, toMs } from "./time.ts";
import type { Period, ReportInput } from "./types.ts";

const PAGE = { limit: 1000 } as const;
const DAY_MS = 86_400_000;

export async function collect<T>(pages: AsyncGenerator<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of pages) items.push(item);
  return items;
}

const page = (cursor: string | undefined) => ({ ...PAGE, ...(cursor ? { cursor } : {}) });

export function eventsBetween(store: ExposureStore, range: Period): Promise<StateChangeEvent[]> {
  return collect(allItems((cursor) => store.eventsBetween(range, page(cursor))));
}

export function listExposed(store: ExposureStore): Promise<EndpointState[]> {
  return collect(allItems((cursor) => store.listExposed(page(cursor))));
}

export function endpointHistory(
  store: ExposureStore,
  endpoint: string,
  range: Partial<Period> = {},
): Promise<StateChangeEvent[]> {
  return collect(allItems((cursor) => store.history(endpoint, { ...range, ...page(cursor) })));
}

/** Did this event open an exposure window (exposed now, not exposed before)? */
function opensWindow(event: StateChangeEvent): boolean {
  return event.current.exposure !== "none" && (event.previous === null || event.previous.exposure === "none");
}

/**
 * The endpoint's events before `beforeIso`, from the one that opened the exposure window still open then
 * (or just the last event when it was not exposed). All of them if the opening event is gone (retention).
 */
export async function eventsSinceWindowOpened(
  store: ExposureStore,
  endpoint: string,
  beforeIso: string,
): Promise<StateChangeEvent[]> {
  const events = await endpointHistory(store, endpoint, { to: beforeIso });
  const last = events.at(-1);
  if (!last) return [];
  if (last.current.exposure === "none") return [last];
  for (let i = events.length - 1; i >= 0; i--) if (opensWindow(events[i]!)) return events.slice(i);
  return events;
}

export interface LoadReportOptions {
  period: Period;
  scheduleIntervalMs: number;
  now: Date;
  table: string;
}

export async function loadReportInput(store: ExposureStore, options: LoadReportOptions): Promise<ReportInput> {
  const fromMs = toMs(options.period.from, "--from");
  const toMs_ = toMs(options.period.to, "--to");
  const nowMs = options.now.getTime();
  const period = { from: toIso(fromMs), to: toIso(toMs_) };

  const inPeriod = await eventsBetween(store, period);
  const firstInPeriod = firstByEndpoint(inPeriod);
  const exposedAtFrom = new Set<string>();
  for (const [endpoint, event] of firstInPeriod) {
    if (event.previous && event.previous.exposure !== "none") exposedAtFrom.add(endpoint);
  }

  const after = toMs_ < nowMs ? await eventsBetween(store, { from: period.to, to: toIso(nowMs) }) : [];
  const firstAfter = firstByEndpoint(after);
  for (const [endpoint, event] of firstAfter) {
    if (!firstInPeriod.has(endpoint) && event.previous && event.previous.exposure !== "none")
      exposedAtFrom.add(endpoint);
  }
  for (const state of await listExposed(store)) {
    const unchangedSince = !firstInPeriod.has(state.endpoint) && !firstAfter.has(state.endpoint);
    if (unchangedSince && toMs(state.since) < toMs_) exposedAtFrom.add(state.endpoint);
  }

  const before: StateChangeEvent[] = [];
  for (const endpoint of [...exposedAtFrom].sort())
    before.push(...(await eventsSinceWindowOpened(store, endpoint, period.from)));

  // A scan that completed shortly before `from` covers its first minutes; a day of margin is two day-partitions.
  const scansFrom = toIso(fromMs - 2 * options.scheduleIntervalMs - DAY_MS);
  const scans = await collect(allItems((cursor) => store.listScans({ from: scansFrom, to: period.to }, page(cursor))));

  return {
    period,
    scans,
    events: [...before, ...inPeriod],
    scheduleIntervalMs: options.scheduleIntervalMs,
    generatedAt: toIso(nowMs),
    table: options.table,
  };
}

function firstByEndpoint(events: readonly StateChangeEvent[]): Map<string, StateChangeEvent> {
  const first = new Map<string, StateChangeEvent>();
  for (const event of events) {
    const seen = first.get(event.endpoint);
    if (!seen || toMs(event.at) < toMs(seen.at)) first.set(event.endpoint, event);
  }
  return first;
}
