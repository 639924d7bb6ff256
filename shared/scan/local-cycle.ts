// One monitoring cycle in one process (the laptop monitor): the same steps as in AWS, where the
// enumerate function starts a scan and probe functions each take a shard, with the whole target
// list as the one shard. Probing is the adaptive scheduler's, so endpoints exposed at their last
// observation are confirmed at the long timeout before they can be called filtered.
import { type Alert, alertsFromEvent } from "../alerts/alert.ts";
import type { ScanRecord, StateChangeEvent, Target } from "../exposure/model.ts";
import type { AdaptiveOptions } from "../probe/adaptive.ts";
import type { ExposureStore } from "../store/store.ts";
import { newScanId } from "./cycle.ts";
import { probeShard } from "./shards.ts";

export interface CycleOptions {
  store: ExposureStore;
  targets: Target[];
  /** Adaptive scheduler settings (concurrency = sockets at once); see shared/probe/adaptive.ts. */
  probe?: Partial<AdaptiveOptions>;
  scanId?: string;
  checkpointIntervalMs?: number;
  /** Accounts, regions and gaps of the inventory that produced the targets, for the scan record. */
  coverage?: Pick<ScanRecord, "accountsRead" | "regionsRead" | "gaps">;
}

export interface CycleResult {
  scan: ScanRecord;
  events: StateChangeEvent[];
  alerts: Alert[];
}

export async function runScanCycle(options: CycleOptions): Promise<CycleResult> {
  const { store } = options;
  const scanId = options.scanId ?? newScanId();
  await store.startScan({ scanId, targets: options.targets.length, shards: 1, ...(options.coverage ?? {}) });
  const outcome = await probeShard(
    { scanId, shardId: "1/1", targets: options.targets },
    {
      store,
      ...(options.probe ? { probe: options.probe } : {}),
      ...(options.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: options.checkpointIntervalMs } : {}),
    },
  );
  return { scan: outcome.scan, events: outcome.events, alerts: outcome.events.flatMap(alertsFromEvent) };
}
