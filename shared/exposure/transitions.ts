// The transition and alert rules (docs/architecture.md, "One notification per change") as one pure function: given what is
// recorded for an endpoint and a new observation, decide what to record and which alerts that raises.
// The store (shared/store) only persists the decision; it never decides anything itself, so every rule
// is testable here without a database.
//
// Rules:
// - newly-unauthenticated (critical): exposure becomes `unauthenticated` from anything else,
//   including the first sighting.
// - newly-internet-facing (high): exposure goes from `none` (or never seen) to `reachable`.
// - new-finding: a compromise indicator or a critical CVE appears that the recorded state did not have.
//   It is listed beside an exposure alert of the same change, because each kind is its own rule.
// - resolved (info): exposure returns to `none`, confirmed by RESOLVE_CONFIRMATIONS consecutive
//   observations. The first one only bumps a "pending none" counter in the record (no event); an
//   observation that is not `none` resets it, so one lost SYN neither closes nor reopens an incident.
//   When observations carry a scanId, the confirmations must come from different scans.
// - any other change of state, TLS, server identity (product, version, mode, role) or the set of
//   findings is an event with `alerts: []`: the history keeps it, nobody is paged.
// - first sighting at exposure `none`: a current-state record but no event. The record proves the
//   endpoint was looked at (firstSeenAt, lastObservedAt through checkpoints) and gives a later change
//   a `previous`; an event would double the writes for the bulk of a fleet where nothing happened.
// - an observation not newer than the recorded lastObservedAt is `duplicate` (same time) or `stale`
//   (older) and changes nothing, so retries and out-of-order deliveries never make a second event.
// - an unchanged observation is written only as a checkpoint, once the record's lastObservedAt is
//   older than the checkpoint interval (measured in observation time, so replays are deterministic),
//   or when it names another owner (account or resource) than the record, or another path verdict.
// - path-anomaly (high): the endpoint answers (exposure not `none`) while the path resolver says its
//   path from the internet is `closed` (docs/readme-path.md, "Latent exposures and anomalies"): the
//   configuration model or the inventory misses a path. Raised when that becomes true, including on an
//   otherwise unchanged observation (then the event carries only this alert).
import { createHash } from "node:crypto";
import {
  type AlertKind,
  type Asset,
  type EndpointSnapshot,
  type Exposure,
  exposureOf,
  type Finding,
  formatEndpoint,
  type ProbeResult,
  type ProbeState,
  type ProtocolFacts,
  type StateChangeEvent,
} from "./model.ts";

/** Consecutive observations at exposure `none` needed before an exposed endpoint counts as resolved. */
export const RESOLVE_CONFIRMATIONS = 2;

/** Default checkpoint interval: an unchanged endpoint is rewritten at most once a day. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** What is recorded about one endpoint now (the `STATE` item). */
export interface EndpointState extends EndpointSnapshot {
  /** "ip:port" or "[ipv6]:port" (formatEndpoint). */
  endpoint: string;
  ip: string;
  port: number;
  /** The confirmed state (snapshot). While `pendingNone > 0` this is still the exposed state being resolved. */
  findings: Finding[];
  /** The owner; kept from earlier observations when a new one carries none (e.g. a plain target list). */
  asset: Asset | null;
  /** The DNS name this address was last reached by, a label only (the key is the IP). */
  name?: string;
  /** When the recorded state began (the `at` of the event that set it, or the first sighting). */
  since: string;
  firstSeenAt: string;
  /** observedAt of the newest observation written; older or equal observations are ignored. */
  lastObservedAt: string;
  /** Observations at exposure `none` seen in a row while the recorded exposure is not `none`. */
  pendingNone: number;
  /** The event that set the recorded state; null after a first sighting at `none`. */
  lastEventId: string | null;
  lastScanId?: string;
  /** Optimistic-concurrency counter: the store writes only if the version it read is still there. */
  version: number;
}

/**
 * - changed: a state-change event (possibly with `alerts: []`) and a new record
 * - first-seen: first sighting at exposure `none`: a record, no event
 * - pending: only the pending-none counter changed (set by a first `none`, or reset by a flap back): a record, no event
 * - checkpoint: nothing changed but the record is older than the checkpoint interval, or the owner
 *   (account or resource) changed: a record, no event
 * - unchanged: nothing to write
 * - stale: older than the recorded lastObservedAt: nothing to write
 * - duplicate: same time as the recorded lastObservedAt (a redelivery): nothing to write
 */
export type TransitionOutcome =
  | "changed"
  | "first-seen"
  | "pending"
  | "checkpoint"
  | "unchanged"
  | "stale"
  | "duplicate";

export interface TransitionDecision {
  outcome: TransitionOutcome;
  /** The record to write, or null when nothing is written. */
  next: EndpointState | null;
  /** The event to write with it (only for `changed`). */
  event: StateChangeEvent | null;
}

export interface TransitionOptions {
  checkpointIntervalMs?: number;
  scanId?: string;
}

/** A compromise indicator or a critical CVE: the findings that page someone when they appear. */
export function isAlertableFinding(finding: Finding): boolean {
  return finding.kind === "compromise" || (finding.kind === "cve" && finding.severity === "critical");
}

/** Deterministic, so the same observation recorded twice produces the same event id (and key). */
export function eventIdFor(endpoint: string, at: string): string {
  return createHash("sha256").update(`${endpoint}\n${at}`).digest("hex").slice(0, 20);
}

/** observedAt in one canonical form (ISO 8601, milliseconds, Z) so that keys sort by time. */
export function canonicalTime(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`invalid observedAt "${value}"`);
  return new Date(ms).toISOString();
}

/** The server's identity from the protocol's facts; "" when it said nothing (a target's protocol never changes). */
function serverIdentity(facts: ProtocolFacts): string {
  if (facts.product === undefined) return "";
  return [facts.product, facts.version ?? "", facts.mode ?? "", facts.role ?? ""].join("|");
}

function findingIds(findings: Finding[]): string {
  return findings
    .map((finding) => finding.id)
    .sort()
    .join(",");
}

/**
 * What makes two observations of an endpoint "the same" for the history, as one string: equal keys
 * mean no event. The store's digests keep a hash of it (shared/store/digest.ts).
 */
export function recordedFactsKey(facts: Pick<EndpointState, "state" | "tls" | "protocol" | "findings">): string {
  return [facts.state, facts.tls ? "tls" : "plain", serverIdentity(facts.protocol), findingIds(facts.findings)].join(
    "\n",
  );
}

function sameRecordedFacts(recorded: EndpointState, observation: ProbeResult, state: ProbeState): boolean {
  return recordedFactsKey(recorded) === recordedFactsKey({ ...observation, state });
}

/**
 * Decides what recording `observation` means, given the endpoint's `recorded` state (null when never seen).
 * Pure: no clock, no I/O; the same inputs always give the same decision.
 */
export function decideTransition(
  recorded: EndpointState | null,
  observation: ProbeResult,
  options: TransitionOptions = {},
): TransitionDecision {
  const checkpointIntervalMs = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  const at = canonicalTime(observation.observedAt);
  const endpoint = formatEndpoint(observation.ip, observation.port);
  // The state is the fact; exposure always follows from it (a producer cannot make them disagree).
  const state = observation.state;
  const exposure = exposureOf(state);

  const observed = {
    endpoint,
    ip: observation.ip,
    port: observation.port,
    state,
    exposure,
    tls: observation.tls,
    protocol: observation.protocol,
    ...(observation.certificate ? { certificate: observation.certificate } : {}),
    findings: observation.findings,
    asset: observation.asset ?? recorded?.asset ?? null,
    ...((observation.name ?? recorded?.name) !== undefined ? { name: observation.name ?? recorded?.name } : {}),
    lastObservedAt: at,
    ...(options.scanId !== undefined ? { lastScanId: options.scanId } : {}),
  };

  if (recorded === null) {
    if (exposure === "none") {
      const next: EndpointState = {
        ...observed,
        since: at,
        firstSeenAt: at,
        pendingNone: 0,
        lastEventId: null,
        version: 1,
      };
      return { outcome: "first-seen", next, event: null };
    }
    return change(null, observed, at, options.scanId);
  }

  const recordedMs = Date.parse(recorded.lastObservedAt);
  const observedMs = Date.parse(at);
  if (observedMs === recordedMs) return { outcome: "duplicate", next: null, event: null };
  if (observedMs < recordedMs) return { outcome: "stale", next: null, event: null };

  const version = recorded.version + 1;
  const lastScan = options.scanId !== undefined ? { lastScanId: options.scanId } : {};

  if (recorded.exposure !== "none" && exposure === "none") {
    // A second look within the same scan (a probe retry) is not a second cycle: it confirms nothing.
    if (recorded.pendingNone > 0 && options.scanId !== undefined && options.scanId === recorded.lastScanId) {
      return { outcome: "unchanged", next: null, event: null };
    }
    const pendingNone = recorded.pendingNone + 1;
    if (pendingNone < RESOLVE_CONFIRMATIONS) {
      // Keep the recorded (exposed) state; only count this observation and advance the watermark.
      const next: EndpointState = {
        ...recorded,
        asset: observed.asset,
        lastObservedAt: at,
        pendingNone,
        ...lastScan,
        version,
      };
      return { outcome: "pending", next, event: null };
    }
    return change(recorded, observed, at, options.scanId);
  }

  if (!sameRecordedFacts(recorded, observation, state)) return change(recorded, observed, at, options.scanId);
  if (isPathAnomaly(exposure, observed.asset) && !isPathAnomaly(recorded.exposure, recorded.asset)) {
    return change(recorded, observed, at, options.scanId);
  }

  // Same facts as recorded: refresh the record (server details, certificate, asset) only when we write anyway.
  const refreshed: EndpointState = {
    ...observed,
    since: recorded.since,
    firstSeenAt: recorded.firstSeenAt,
    lastEventId: recorded.lastEventId,
    pendingNone: 0,
    ...(recorded.lastScanId !== undefined && options.scanId === undefined ? { lastScanId: recorded.lastScanId } : {}),
    version,
  };
  if (recorded.pendingNone > 0) return { outcome: "pending", next: refreshed, event: null };
  // A new owner (an Elastic IP moved to another instance or account) is written at once, so that
  // queries by owner are right, but it is not a change of exposure: no event.
  const ownerChanged =
    observation.asset !== undefined &&
    (recorded.asset?.accountId !== observation.asset.accountId ||
      recorded.asset?.resourceId !== observation.asset.resourceId ||
      recorded.asset?.path?.verdict !== observation.asset.path?.verdict);
  if (ownerChanged || observedMs - recordedMs >= checkpointIntervalMs) {
    return { outcome: "checkpoint", next: refreshed, event: null };
  }
  return { outcome: "unchanged", next: null, event: null };
}

/** Something answers where the configuration says no path from the internet exists. */
export function isPathAnomaly(exposure: Exposure, asset: Asset | null | undefined): boolean {
  return exposure !== "none" && asset?.path?.verdict === "closed";
}

/** The configuration opens a path on this port but nothing answers: a latent exposure (recorded, not paged). */
export function isLatentExposure(exposure: Exposure, asset: Asset | null | undefined): boolean {
  return exposure === "none" && asset?.path?.verdict === "open" && asset.path.scope === "any";
}

type Observed = Omit<EndpointState, "since" | "firstSeenAt" | "pendingNone" | "lastEventId" | "version">;

function change(recorded: EndpointState | null, observed: Observed, at: string, scanId: string | undefined) {
  const previousIds = new Set((recorded?.findings ?? []).map((finding) => finding.id));
  const newFindings = observed.findings.filter((finding) => !previousIds.has(finding.id));
  const previousExposure: Exposure = recorded?.exposure ?? "none";

  const alerts: AlertKind[] = [];
  if (observed.exposure === "unauthenticated" && previousExposure !== "unauthenticated") {
    alerts.push("newly-unauthenticated");
  }
  if (observed.exposure === "reachable" && previousExposure === "none") alerts.push("newly-internet-facing");
  if (newFindings.some(isAlertableFinding)) alerts.push("new-finding");
  if (observed.exposure === "none" && previousExposure !== "none") alerts.push("resolved");
  if (
    isPathAnomaly(observed.exposure, observed.asset) &&
    !(recorded !== null && isPathAnomaly(recorded.exposure, recorded.asset))
  ) {
    // First: at equal severity the one notification of the change is this one (it says more).
    alerts.unshift("path-anomaly");
  }

  const firstSeenAt = recorded?.firstSeenAt ?? at;
  const eventId = eventIdFor(observed.endpoint, at);
  const event: StateChangeEvent = {
    eventId,
    endpoint: observed.endpoint,
    ip: observed.ip,
    port: observed.port,
    at,
    previous: recorded ? { state: recorded.state, exposure: recorded.exposure } : null,
    current: {
      state: observed.state,
      exposure: observed.exposure,
      tls: observed.tls,
      protocol: observed.protocol,
      ...(observed.certificate ? { certificate: observed.certificate } : {}),
    },
    findings: observed.findings,
    newFindings,
    alerts,
    asset: observed.asset,
    firstSeenAt,
    ...(scanId !== undefined ? { scanId } : {}),
  };
  const next: EndpointState = {
    ...observed,
    ...(recorded?.lastScanId !== undefined && scanId === undefined ? { lastScanId: recorded.lastScanId } : {}),
    since: at,
    firstSeenAt,
    pendingNone: 0,
    lastEventId: eventId,
    version: (recorded?.version ?? 0) + 1,
  };
  return { outcome: "changed" as const, next, event };
}
