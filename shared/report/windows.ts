// Exposure windows from the immutable event history. A window opens at the first event whose exposure is
// not "none" and closes at the first later event whose exposure is "none"; reachable <-> unauthenticated
// changes stay inside one window, whose level is the worst one seen. Windows that straddle the period's
// edges keep their true start and end; only durationInPeriodMs is clipped to the period.
import { type Asset, type Exposure, exposureRank, type Finding, type StateChangeEvent } from "../exposure/model.ts";
import { toIso, toMs } from "./time.ts";
import type { ExposedLevel, ExposureWindow, TimelinePoint } from "./types.ts";

/** An endpoint's state at the end of the period: what "open findings" are made of. */
export interface EndpointAtEnd {
  endpoint: string;
  ip: string;
  port: number;
  exposure: Exposure;
  /** The last recorded observation's state, TLS and protocol facts. */
  current: StateChangeEvent["current"];
  /** When the current exposure level (reachable or unauthenticated) began; null when not exposed. */
  levelSince: string | null;
  /** The open window, when still exposed. */
  window: ExposureWindow | null;
  findings: Finding[];
  /** When each current finding appeared, as far as the history read shows. */
  findingFirstSeen: Map<string, string>;
  asset: Asset | null;
}

export interface WindowsResult {
  windows: ExposureWindow[];
  endpoints: EndpointAtEnd[];
}

interface OpenWindow {
  startMs: number;
  level: ExposedLevel;
  states: ExposureWindow["states"];
  owner: Asset | null;
  alerts: ExposureWindow["alerts"];
}

function byTimeThenId(a: StateChangeEvent, b: StateChangeEvent): number {
  return toMs(a.at) - toMs(b.at) || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

function worse(a: ExposedLevel, b: ExposedLevel): ExposedLevel {
  return exposureRank(a) >= exposureRank(b) ? a : b;
}

export function exposureWindows(events: readonly StateChangeEvent[], fromMs: number, toMs_: number): WindowsResult {
  const byEndpoint = new Map<string, StateChangeEvent[]>();
  for (const event of events) {
    if (toMs(event.at, "event time") >= toMs_) continue;
    const list = byEndpoint.get(event.endpoint);
    if (list) list.push(event);
    else byEndpoint.set(event.endpoint, [event]);
  }

  const windows: ExposureWindow[] = [];
  const endpoints: EndpointAtEnd[] = [];
  for (const [endpoint, list] of byEndpoint) {
    list.sort(byTimeThenId);
    const first = list[0]!;
    let open: OpenWindow | null = null;
    let last = first;
    let levelSince: string | null = null;
    const findingFirstSeen = new Map<string, string>();
    const close = (endMs: number | null): ExposureWindow | null => {
      if (!open) return null;
      const clippedStart = Math.max(open.startMs, fromMs);
      const clippedEnd = Math.min(endMs ?? toMs_, toMs_);
      // A window that closed before the period began is history the loader read only for context.
      if (endMs !== null && endMs <= fromMs) return null;
      const window: ExposureWindow = {
        endpoint,
        ip: first.ip,
        port: first.port,
        level: open.level,
        states: open.states,
        start: toIso(open.startMs),
        end: endMs === null ? null : toIso(endMs),
        startedBeforePeriod: open.startMs < fromMs,
        durationInPeriodMs: Math.max(0, clippedEnd - clippedStart),
        timeToRemediateMs: endMs === null ? null : endMs - open.startMs,
        owner: open.owner,
        alerts: open.alerts,
      };
      windows.push(window);
      return window;
    };
    for (const event of list) {
      if (event.current.exposure !== last.current.exposure || event === first) levelSince = event.at;
      last = event;
      const atMs = toMs(event.at);
      const exposure = event.current.exposure;
      if (exposure === "none") {
        if (open) {
          addUnique(open.alerts, event.alerts);
          close(atMs);
          open = null;
        }
      } else if (open) {
        open.level = worse(open.level, exposure);
        addUnique(open.states, [event.current.state]);
        addUnique(open.alerts, event.alerts);
        if (event.asset) open.owner = event.asset;
      } else {
        open = { startMs: atMs, level: exposure, states: [event.current.state], owner: event.asset, alerts: [] };
        addUnique(open.alerts, event.alerts);
      }
      const present = new Set(event.findings.map((finding) => finding.id));
      for (const id of [...findingFirstSeen.keys()]) if (!present.has(id)) findingFirstSeen.delete(id);
      for (const id of present) if (!findingFirstSeen.has(id)) findingFirstSeen.set(id, event.at);
    }
    const openAtEnd = close(null);
    endpoints.push({
      endpoint,
      ip: first.ip,
      port: first.port,
      exposure: last.current.exposure,
      current: last.current,
      levelSince: last.current.exposure === "none" ? null : levelSince,
      window: openAtEnd,
      findings: last.findings,
      findingFirstSeen,
      asset: last.asset ?? open?.owner ?? null,
    });
  }
  windows.sort(
    (a, b) =>
      toMs(a.start) - toMs(b.start) || compareText(a.endpoint, b.endpoint) || compareText(a.end ?? "~", b.end ?? "~"),
  );
  endpoints.sort((a, b) => compareText(a.endpoint, b.endpoint));
  return { windows, endpoints };
}

function addUnique<T>(into: T[], values: readonly T[]): void {
  for (const value of values) if (!into.includes(value)) into.push(value);
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The number of exposed endpoints over the period, as a step function: one point at `from`, then one per change. */
export function exposedTimeline(windows: readonly ExposureWindow[], fromMs: number, toMs_: number): TimelinePoint[] {
  const deltas = new Map<number, number>();
  let atStart = 0;
  for (const window of windows) {
    const startMs = toMs(window.start);
    const endMs = window.end === null ? null : toMs(window.end);
    if (startMs <= fromMs) atStart++;
    else deltas.set(startMs, (deltas.get(startMs) ?? 0) + 1);
    if (endMs !== null && endMs < toMs_) deltas.set(endMs, (deltas.get(endMs) ?? 0) - 1);
  }
  const points: TimelinePoint[] = [{ at: toIso(fromMs), exposed: atStart }];
  let exposed = atStart;
  for (const [atMs, delta] of [...deltas].sort((a, b) => a[0] - b[0])) {
    if (delta === 0) continue;
    exposed += delta;
    points.push({ at: toIso(atMs), exposed });
  }
  return points;
}
