// One monitoring cycle in one process (the laptop monitor): probe every target, record each
// observation, and turn the recorded state-change events into alerts. In AWS the same steps are
// split across the enumerate, probe and notify functions; the pieces below are the shared ones.
import { randomBytes } from "node:crypto";
import { type Alert, alertsFromEvent } from "../alerts/alert.ts";
import type { ProbeResult, ProbeState, ScanRecord, StateChangeEvent, Target } from "../exposure/model.ts";
import { type BatchOptions, probeAll } from "../probe/batch.ts";
import type { ExposureStore, RecordResult } from "../store/store.ts";

/** Sortable, unique scan ids: "scan-20261122T040512Z-3fa9c1". */
export function newScanId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `scan-${stamp}-${randomBytes(3).toString("hex")}`;
}

export interface ShardOutcome {
  countsByState: Partial<Record<ProbeState, number>>;
  /** Events recorded by this shard (each carries the alert kinds it raises). */
  events: StateChangeEvent[];
}

/**
 * Records a batch of probe results and counts them per state. Recording is idempotent, so a shard
 * delivered twice adds no second event; the store counts the shard itself once.
 */
export async function recordResults(
  store: ExposureStore,
  results: AsyncIterable<ProbeResult> | Iterable<ProbeResult>,
  options: {
    scanId: string;
    checkpointIntervalMs?: number;
    onRecorded?: (result: ProbeResult, record: RecordResult) => void;
  },
): Promise<ShardOutcome> {
  const countsByState: Partial<Record<ProbeState, number>> = {};
  const events: StateChangeEvent[] = [];
  for await (const result of results) {
    countsByState[result.state] = (countsByState[result.state] ?? 0) + 1;
    const recorded = await store.recordObservation(result, {
      scanId: options.scanId,
      ...(options.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: options.checkpointIntervalMs } : {}),
    });
    if (recorded.event) events.push(recorded.event);
    options.onRecorded?.(result, recorded);
  }
  return { countsByState, events };
}

export interface CycleOptions {
  store: ExposureStore;
  targets: Target[];
  probe?: BatchOptions;
  scanId?: string;
  checkpointIntervalMs?: number;
  /** Accounts, regions and gaps of the inventory that produced the targets, for the scan record. */
  coverage?: Pick<ScanRecord, "accountsRead" | "regionsRead" | "gaps">;
  onRecorded?: (result: ProbeResult, record: RecordResult) => void;
}

export interface CycleResult {
  scan: ScanRecord;
  events: StateChangeEvent[];
  alerts: Alert[];
}

export async function runScanCycle(options: CycleOptions): Promise<CycleResult> {
  const { store } = options;
  const scanId = options.scanId ?? newScanId();
  await store.startScan({
    scanId,
    targets: options.targets.length,
    shards: 1,
    ...(options.coverage ?? {}),
  });
  const outcome = await recordResults(store, probeAll(options.targets, options.probe), {
    scanId,
    ...(options.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: options.checkpointIntervalMs } : {}),
    ...(options.onRecorded ? { onRecorded: options.onRecorded } : {}),
  });
  const { scan } = await store.recordShard({ scanId, shardId: "local", countsByState: outcome.countsByState });
  return { scan, events: outcome.events, alerts: outcome.events.flatMap(alertsFromEvent) };
}
