// One monitoring cycle in one process (the laptop monitor), through the cloud's own steps
// (docs/architecture.md, "One cycle"): the target list (or inventory) -> startScanCycle splits it into
// shards on a queue -> here an in-process queue instead of SQS -> probeShard for each shard -> recorded
// observations and state-change events. Delivery is the notify function's path too (shared/alerts/notify.ts).

import type { Alert } from "../alerts/alert.ts";
import { notificationFor } from "../alerts/alert.ts";
import type { ScanRecord, StateChangeEvent, Target } from "../exposure/model.ts";
import type { AdaptiveOptions } from "../probe/adaptive.ts";
import type { ExposureStore } from "../store/store.ts";
import { newScanId } from "./cycle.ts";
import { probeShard, type ShardMessage, type ShardQueue, startScanCycle } from "./shards.ts";

/** Targets per shard on a laptop: one shard holds what one probe function invocation could. */
export const LOCAL_SHARD_TARGETS = 10_000;

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
}

export interface CycleResult {
  scan: ScanRecord;
  events: StateChangeEvent[];
  /** The notification of each event that makes one (what delivery sends; notificationFor). */
  alerts: Alert[];
}

export async function runScanCycle(options: CycleOptions): Promise<CycleResult> {
  const { store } = options;
  const queue = new InProcessShardQueue();
  const started = await startScanCycle({
    scanId: options.scanId ?? newScanId(),
    readInventory: async () => ({
      targets: options.targets,
      summary: { accountsRead: [], regionsRead: [], gaps: [], ...(options.coverage ?? {}) },
    }),
    store,
    queue,
    shardLimits: { maxTargets: options.shardTargets ?? LOCAL_SHARD_TARGETS },
  });
  let scan = started.scan;
  const events: StateChangeEvent[] = [];
  for (let shards = queue.take(); shards.length > 0; shards = queue.take()) {
    for (const shard of shards) {
      const outcome = await probeShard(shard, {
        store,
        ...(options.probe ? { probe: options.probe } : {}),
        ...(options.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: options.checkpointIntervalMs } : {}),
      });
      events.push(...outcome.events);
      scan = outcome.scan;
    }
  }
  return { scan, events, alerts: events.flatMap((event) => notificationFor(event) ?? []) };
}
