// The router (docs/fastpath.md): one batch of bus events -> the probes to schedule. Each event is read
// (catalog.ts), stops the probes of an address it releases, is resolved in its account (resolve.ts), and
// its targets are scheduled at the re-probe delays (schedule.ts). Duplicates coalesce: an event seen before
// (same event id, e.g. a retry or a replay) schedules nothing, and an endpoint already scheduled within the
// last minute, by this batch or another, is not scheduled again. An account that cannot be read is
// reported in the outcome, never dropped silently.
import type { CoverageGap, Target } from "../exposure/model.ts";
import { ipFamily } from "../net/ip.ts";
import { type BusEvent, type Change, changeFromEvent, isIrrelevant } from "./catalog.ts";
import { type FastPathLedger, TOMBSTONE_TTL_SECONDS } from "./ledger.ts";
import type { FastPathResolver } from "./resolve.ts";
import { COALESCE_SECONDS, endpointKey, eventKey, type PlannedProbe, planProbes } from "./schedule.ts";

/** How long an event id is remembered: EventBridge and SQS redeliver within minutes; a replay later still adds no alert. */
export const EVENT_CLAIM_SECONDS = 6 * 3_600;

/** Where scheduled probes go: SQS with per-message delays in AWS (sqs-probe-queue.ts). */
export interface ProbeScheduler {
  schedule(probes: readonly PlannedProbe[]): Promise<void>;
}

/**
 * Sends the IPv6 targets of each planned probe to a scheduler of their own (the fast-probe function in the
 * dual-stack scanner VPC: a function outside a VPC has no IPv6 egress, docs/fastpath.md "IPv6 targets")
 * and the rest to the first, as the sweep's shards are split (shared/scan/shards.ts FamilyShardQueue). A
 * probe split in two keeps its probe id, delay and stop keys in both halves; without an IPv6 scheduler
 * everything goes to the first.
 */
export class FamilyProbeScheduler implements ProbeScheduler {
  readonly #ipv4: ProbeScheduler;
  readonly #ipv6: ProbeScheduler | undefined;

  constructor(ipv4: ProbeScheduler, ipv6?: ProbeScheduler) {
    this.#ipv4 = ipv4;
    this.#ipv6 = ipv6;
  }

  async schedule(probes: readonly PlannedProbe[]): Promise<void> {
    const ipv6Scheduler = this.#ipv6;
    if (ipv6Scheduler === undefined) return this.#ipv4.schedule(probes);
    const ipv4: PlannedProbe[] = [];
    const ipv6: PlannedProbe[] = [];
    for (const probe of probes) {
      const v6 = probe.message.targets.filter((target) => ipFamily(target.host) === "ipv6");
      const v4 = probe.message.targets.filter((target) => ipFamily(target.host) !== "ipv6");
      const half = (targets: typeof v4): PlannedProbe => ({
        delaySeconds: probe.delaySeconds,
        message: {
          ...probe.message,
          targets,
          stopKeys: Object.fromEntries(
            Object.entries(probe.message.stopKeys).filter(([host]) => targets.some((target) => target.host === host)),
          ),
        },
      });
      if (v4.length > 0) ipv4.push(v6.length === 0 ? probe : half(v4));
      if (v6.length > 0) ipv6.push(v4.length === 0 ? probe : half(v6));
    }
    await Promise.all([
      ipv4.length > 0 ? this.#ipv4.schedule(ipv4) : undefined,
      ipv6.length > 0 ? ipv6Scheduler.schedule(ipv6) : undefined,
    ]);
  }
}

export interface RoutedEvent {
  eventId: string;
  name: string;
  accountId: string;
  region: string;
  eventTime: string;
  /** What the event resolved to (all of it, including endpoints coalesced into an earlier schedule). */
  targets: Target[];
  /** Targets scheduled by this event (the others were already scheduled). */
  scheduledTargets: number;
  probesScheduled: number;
  stopped: string[];
  gaps: CoverageGap[];
  /** Reads that cost only names or path verdicts (resolve.ts). */
  detailErrors: CoverageGap[];
}

export interface RouteOutcome {
  routed: RoutedEvent[];
  irrelevant: Array<{ eventId: string; reason: string }>;
  /** Event ids seen before: nothing scheduled. */
  duplicates: string[];
}

export interface RouteDeps {
  resolver: Pick<FastPathResolver, "resolve">;
  ledger: FastPathLedger;
  scheduler: ProbeScheduler;
  now?: () => Date;
}

export async function routeEvents(events: readonly BusEvent[], deps: RouteDeps): Promise<RouteOutcome> {
  const outcome: RouteOutcome = { routed: [], irrelevant: [], duplicates: [] };
  const inBatch = new Set<string>();
  for (const event of events) {
    const change = changeFromEvent(event);
    if (isIrrelevant(change)) {
      outcome.irrelevant.push({ eventId: String(event.id ?? ""), reason: change.irrelevant });
      continue;
    }
    if (change.eventId !== "" && !(await deps.ledger.claim(eventKey(change.eventId), EVENT_CLAIM_SECONDS))) {
      outcome.duplicates.push(change.eventId);
      continue;
    }
    try {
      outcome.routed.push(await routeChange(change, deps, inBatch));
    } catch (error) {
      // Not routed: let the retry of this message route it again.
      if (change.eventId !== "") await deps.ledger.release(eventKey(change.eventId)).catch(() => undefined);
      throw error;
    }
  }
  return outcome;
}

async function routeChange(change: Change, deps: RouteDeps, inBatch: Set<string>): Promise<RoutedEvent> {
  const now = (deps.now ?? (() => new Date()))();
  if (change.stop.length > 0) await deps.ledger.stop(change.stop, now, TOMBSTONE_TTL_SECONDS);
  const resolution =
    change.lookups.length === 0
      ? { targets: [], stopKeys: {}, gaps: [], detailErrors: [] }
      : await deps.resolver.resolve(change);
  const fresh: Target[] = [];
  for (const target of resolution.targets) {
    const key = endpointKey(target);
    if (inBatch.has(key)) continue;
    inBatch.add(key);
    if (await deps.ledger.claim(key, COALESCE_SECONDS)) fresh.push(target);
  }
  const probes = planProbes(change, resolution, fresh, now);
  if (probes.length > 0) await deps.scheduler.schedule(probes);
  return {
    eventId: change.eventId,
    name: change.name,
    accountId: change.accountId,
    region: change.region,
    eventTime: change.eventTime,
    targets: resolution.targets,
    scheduledTargets: fresh.length,
    probesScheduled: probes.length,
    stopped: change.stop,
    gaps: resolution.gaps,
    detailErrors: resolution.detailErrors,
  };
}
