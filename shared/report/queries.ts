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
import { loadLatentExposures } from "./latent.ts";
import { toIso, toMs } from "./time.ts";
import type { ExposureWindow, Period, ReportInput } from "./types.ts";
import { compareText, exposureWindows } from "./windows.ts";

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
    acknowledgements: await store.listAcknowledgements(),
    latent: await loadLatentExposures(store, { now: options.now }),
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

/** What `exposure history` asks about. Owner and IP lookups use the current-state indexes. */
export type HistorySubject =
  | { kind: "endpoint"; endpoint: string }
  | { kind: "ip"; ip: string }
  | { kind: "owner"; accountId: string; resourceId?: string }
  | { kind: "resource"; resourceId: string }
  | { kind: "all" };

export interface HistoryResult {
  events: StateChangeEvent[];
  /** The exposure windows in the range, with durations clipped to it (to "now" when open-ended). */
  windows: ExposureWindow[];
}

/**
 * The changes of a subject in [from, to) and its exposure windows there. An endpoint, an IP or an owner
 * is resolved to endpoints through the indexes, then each endpoint's partition is queried; a resource
 * id alone, or no subject, reads the range's day partitions (so those need a range).
 */
export async function queryHistory(
  store: ExposureStore,
  subject: HistorySubject,
  range: Partial<Period>,
  now: Date,
): Promise<HistoryResult> {
  const fromMs = range.from ? toMs(range.from) : 0;
  const toMs_ = range.to ? toMs(range.to) : now.getTime();
  let events: StateChangeEvent[];
  let subjectEndpoints: string[] = [];
  if (subject.kind === "resource" || subject.kind === "all") {
    if (!range.from) throw new Error("a history of a resource id alone, or of everything, needs a start time");
    const all = await eventsBetween(store, { from: toIso(fromMs), to: toIso(toMs_) });
    events = subject.kind === "all" ? all : all.filter((event) => event.asset?.resourceId === subject.resourceId);
  } else {
    const endpoints =
      subject.kind === "endpoint"
        ? [subject.endpoint]
        : subject.kind === "ip"
          ? (await store.endpointsOfIp(subject.ip)).map((state) => state.endpoint)
          : (
              await collect(
                allItems((cursor) =>
                  store.endpointsByOwner(subject.accountId, {
                    ...(subject.resourceId !== undefined ? { resourceId: subject.resourceId } : {}),
                    ...page(cursor),
                  }),
                ),
              )
            ).map((state) => state.endpoint);
    subjectEndpoints = endpoints;
    events = [];
    for (const endpoint of endpoints) events.push(...(await endpointHistory(store, endpoint, range)));
  }
  events.sort((a, b) => toMs(a.at) - toMs(b.at) || compareText(a.endpoint, b.endpoint));

  // Context for the windows: each endpoint's events before the range, back to the window open then.
  const context: StateChangeEvent[] = [];
  if (range.from) {
    // Endpoints of the subject without a change in the range may still have been exposed all along.
    const firstInRange = firstByEndpoint(events);
    const endpoints = new Set([...subjectEndpoints, ...firstInRange.keys()]);
    for (const endpoint of [...endpoints].sort(compareText)) {
      const first = firstInRange.get(endpoint);
      if (first && (first.previous === null || first.previous.exposure === "none")) continue;
      context.push(...(await eventsSinceWindowOpened(store, endpoint, toIso(fromMs))));
    }
  }
  const { windows } = exposureWindows([...context, ...events], fromMs, toMs_);
  return { events, windows };
}
