// What is exposed right now, with since when and what to do: the open findings and their Security Hub
// form. Reads the "exposed now" index, each exposed endpoint's events back to the start of its window,
// and, for ASFF, the endpoints resolved recently (their findings are archived).
import type { StateChangeEvent } from "../exposure/model.ts";
import type { EndpointState, ExposureStore } from "../store/store.ts";
import { type AsffFinding, type AsffOptions, toAsff } from "./asff.ts";
import { eventsBetween, eventsSinceWindowOpened, listExposed } from "./queries.ts";
import { endpointRemediation } from "./remediation.ts";
import { openFindingsOf, SEVERITIES } from "./report.ts";
import { toIso, toMs } from "./time.ts";
import type { OpenFinding } from "./types.ts";
import { compareText, exposureWindows } from "./windows.ts";

export interface CurrentExposure {
  state: EndpointState;
  /** When the current level (reachable or unauthenticated) began: `since` moves on any change, this does not. */
  levelSince: string;
  /** The start of the exposure window (before `since` when the level changed inside the window). */
  exposedSince: string;
  /** The endpoint's events from the one that opened the window. */
  events: StateChangeEvent[];
}

export async function loadCurrentExposures(store: ExposureStore): Promise<CurrentExposure[]> {
  const exposures: CurrentExposure[] = [];
  for (const state of await listExposed(store)) {
    // `to` is exclusive: one millisecond past `since` includes the event that set the current state.
    const events = await eventsSinceWindowOpened(store, state.endpoint, toIso(toMs(state.since) + 1));
    exposures.push({
      state,
      levelSince: levelSinceOf(state, events),
      exposedSince: events[0]?.at ?? state.since,
      events,
    });
  }
  return exposures;
}

function levelSinceOf(state: EndpointState, events: readonly StateChangeEvent[]): string {
  let since = state.since;
  for (let i = events.length - 1; i >= 0 && events[i]!.current.exposure === state.exposure; i--) since = events[i]!.at;
  return since;
}

/** When an exposed endpoint's current level began (one Query on its partition). */
export async function exposureLevelSince(store: ExposureStore, state: EndpointState): Promise<string> {
  return levelSinceOf(state, await eventsSinceWindowOpened(store, state.endpoint, toIso(toMs(state.since) + 1)));
}

/** Endpoints resolved (a `resolved` event) in [since, now) and not exposed again since. */
export async function loadRecentlyResolved(store: ExposureStore, since: string, now: string): Promise<EndpointState[]> {
  const endpoints = new Set(
    (await eventsBetween(store, { from: since, to: now }))
      .filter((event) => event.alerts.includes("resolved"))
      .map((event) => event.endpoint),
  );
  const resolved: EndpointState[] = [];
  for (const endpoint of [...endpoints].sort(compareText)) {
    const state = await store.getEndpoint(endpoint);
    if (state && state.exposure === "none") resolved.push(state);
  }
  return resolved;
}

/** The open findings now, most severe first: the same rows as the report's "open findings". */
export function openFindingsNow(exposures: readonly CurrentExposure[], now: Date): OpenFinding[] {
  const findings: OpenFinding[] = [];
  for (const exposure of exposures) {
    const startMs = toMs(exposure.exposedSince);
    const { endpoints } = exposureWindows(exposure.events, startMs, Math.max(now.getTime(), startMs) + 1);
    for (const endpoint of endpoints) findings.push(...openFindingsOf(endpoint));
  }
  return findings.sort(
    (a, b) =>
      SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
      toMs(a.firstSeen) - toMs(b.firstSeen) ||
      compareText(a.endpoint, b.endpoint) ||
      compareText(a.findingId, b.findingId),
  );
}

/** ACTIVE findings for what is exposed, ARCHIVED ones for what was resolved. */
export function asffFindings(
  exposures: readonly CurrentExposure[],
  resolved: readonly EndpointState[],
  options: AsffOptions,
): AsffFinding[] {
  return [
    ...exposures.map(({ state, exposedSince }) =>
      toAsff({ ...state, exposedSince, remediation: endpointRemediation({ ...state, current: state }) }, options),
    ),
    ...resolved.map((state) => toAsff(state, options)),
  ];
}
