// The pieces of a scan cycle that every runner shares: scan ids, and recording a batch of probe
// results. In AWS the cycle is split across the enumerate, probe and notify functions
// (shards.ts); on a laptop local-cycle.ts runs it in one process.
import { randomBytes } from "node:crypto";
import type { ProbeResult, ProbeState, StateChangeEvent } from "../exposure/model.ts";
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
