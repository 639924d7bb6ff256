// One monitoring cycle in one process (the laptop monitor), through the cloud's own steps
// (docs/architecture.md, "One cycle"): the target list (or inventory) -> startScanCycle splits it into
// shards on a queue -> here an in-process queue instead of SQS -> probeShard for each shard -> recorded
// observations and state-change events. Like the enumerate function, the cycle also records the event of each
// acknowledgement that expired with its endpoint still exposed (shared/alerts/ack-expiry.ts). Delivery is the
// notify function's path too (shared/alerts/notify.ts).

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { type ExpiryEventRecorder, recordExpiryEvents } from "../alerts/ack-expiry.ts";
import type { Alert } from "../alerts/alert.ts";
import { notificationFor } from "../alerts/alert.ts";
import { callWithDeadline } from "../deadline.ts";
import { formatEndpoint, type ScanRecord, type StateChangeEvent, type Target } from "../exposure/model.ts";
import type { AdaptiveOptions } from "../probe/adaptive.ts";
import { allItems, type ExposureStore } from "../store/store.ts";
import { newScanId } from "./cycle.ts";
import {
  type ProbeShardOptions,
  probeShard,
  type ShardLimits,
  type ShardMessage,
  type ShardQueue,
  startScanCycle,
} from "./shards.ts";

/**
 * Targets per shard on a laptop: one shard holds what one probe function invocation could. Shards are
 * probed one after the other, each waiting out its own slowest (filtered) targets, so fewer is faster.
 */
export const LOCAL_SHARD_TARGETS = 10_000;

/** No message size limit: the in-process queue is no SQS, whose 256 KB would split 10,000 targets in two. */
export const LOCAL_SHARD_LIMITS: ShardLimits = { maxTargets: LOCAL_SHARD_TARGETS, maxBytes: Number.POSITIVE_INFINITY };

/** The shard queue in one process: shards wait in memory, in order, for this process to probe them. */
export class InProcessShardQueue implements ShardQueue {
  readonly #messages: ShardMessage[] = [];

  async send(messages: readonly ShardMessage[]): Promise<void> {
    this.#messages.push(...messages);
  }

  /** Takes every queued shard, oldest first. */
  take(): ShardMessage[] {
    return this.#messages.splice(0);
  }
}

export interface CycleOptions {
  store: ExposureStore;
  targets: Target[];
  /** Adaptive scheduler settings (concurrency = sockets at once); see shared/probe/adaptive.ts. */
  probe?: Partial<AdaptiveOptions>;
  scanId?: string;
  checkpointIntervalMs?: number;
  /** Accounts, regions and gaps of the inventory that produced the targets, for the scan record. */
  coverage?: Pick<ScanRecord, "accountsRead" | "regionsRead" | "gaps">;
  /** Default LOCAL_SHARD_TARGETS. */
  shardTargets?: number;
  /** Where sockets go, as the probe function's (functions/commons/probe-context.ts); default: the address. */
  context?: ProbeShardOptions["context"];
  /** Resolves a host name to an address (default: the system resolver, with a deadline). */
  resolve?: (name: string) => Promise<string>;
  /** Called with each target's outcome as it comes. */
  onResult?: ProbeShardOptions["onResult"];
  /**
   * Records the events of acknowledgements that expired with their endpoint still exposed, as the enumerate
   * function does (the embedded store); without one (a deployed table), the deployed enumerate records them.
   */
  expiryRecorder?: ExpiryEventRecorder;
  /** The clock for acknowledgement expiries (default: the system clock). */
  now?: () => Date;
}

export interface CycleResult {
  scan: ScanRecord;
  /** The state-change events the scan's shards recorded. */
  events: StateChangeEvent[];
  /** The events of acknowledgements that expired with their endpoint still exposed, recorded by this cycle. */
  expiryEvents: StateChangeEvent[];
  /** The notification of each event that makes one, expiries included (what delivery sends; notificationFor). */
  alerts: Alert[];
}

export async function runScanCycle(options: CycleOptions): Promise<CycleResult> {
  const { store } = options;
  const queue = new InProcessShardQueue();
  const started = await startScanCycle({
    scanId: options.scanId ?? newScanId(),
    readInventory: async () => ({
      targets: await addressedTargets(store, options.targets, options.resolve ?? systemResolve),
      summary: { accountsRead: [], regionsRead: [], gaps: [], ...(options.coverage ?? {}) },
    }),
    store,
    queue,
    shardLimits: { ...LOCAL_SHARD_LIMITS, maxTargets: options.shardTargets ?? LOCAL_SHARD_TARGETS },
  });
  let scan = started.scan;
  // Where the enumerate function records them too: after the scan is started, before its shards are probed.
  const expiryEvents = options.expiryRecorder
    ? (await recordExpiryEvents({ store, recorder: options.expiryRecorder, now: options.now?.() ?? new Date() }))
        .recorded
    : [];
  const events: StateChangeEvent[] = [];
  for (let shards = queue.take(); shards.length > 0; shards = queue.take()) {
    for (const shard of shards) {
      const outcome = await probeShard(shard, {
        store,
        ...(options.probe ? { probe: options.probe } : {}),
        ...(options.context ? { context: options.context } : {}),
        ...(options.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: options.checkpointIntervalMs } : {}),
        ...(options.onResult ? { onResult: options.onResult } : {}),
      });
      events.push(...outcome.events);
      scan = outcome.scan;
    }
  }
  const alerts = [...expiryEvents, ...events].flatMap((event) => notificationFor(event) ?? []);
  return { scan, events, expiryEvents, alerts };
}

/** How long one name may take to resolve before its target is left to the probe (a probe error). */
const RESOLVE_DEADLINE_MS = 5_000;

async function systemResolve(name: string): Promise<string> {
  return callWithDeadline(RESOLVE_DEADLINE_MS, async () => (await lookup(name)).address);
}

/**
 * Targets keyed by IP (docs/architecture.md, "One shape per concept"): each named target becomes its
 * address, with the name kept as a label; an address a name pointed to before (an exposed record with that
 * label) is added too, so a name that moves leaves its old address to be confirmed like any other, not
 * exposed forever. A name that does not resolve stays a name: the probe reports it as a probe error, never a
 * state of anything.
 */
export async function addressedTargets(
  store: Pick<ExposureStore, "listExposed">,
  targets: readonly Target[],
  resolve: (name: string) => Promise<string>,
): Promise<Target[]> {
  const named = targets.filter((target) => isIP(target.host) === 0);
  if (named.length === 0) return [...targets];
  const addressOf = new Map<string, string | null>();
  for (const name of new Set(named.map((target) => target.host))) {
    addressOf.set(name, await resolve(name).catch(() => null));
  }
  const result: Target[] = [];
  const seen = new Set<string>();
  const add = (target: Target) => {
    const key = formatEndpoint(target.host, target.port);
    if (seen.has(key)) return;
    seen.add(key);
    result.push(target);
  };
  for (const target of targets) {
    const address = isIP(target.host) === 0 ? addressOf.get(target.host) : undefined;
    add(address ? { ...target, host: address, name: target.host } : target);
  }
  const ports = new Map<string, Set<number>>();
  for (const target of named) ports.set(target.host, (ports.get(target.host) ?? new Set()).add(target.port));
  for await (const state of allItems((cursor) => store.listExposed({ limit: 1000, ...(cursor ? { cursor } : {}) }))) {
    if (state.name !== undefined && ports.get(state.name)?.has(state.port)) {
      add({ host: state.ip, port: state.port, name: state.name, ...(state.asset ? { asset: state.asset } : {}) });
    }
  }
  return result;
}
