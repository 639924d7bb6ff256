// The metrics a completed scan emits (alarmed and graphed by infra/monitor-stack.ts).
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { EXPOSURES, exposureOf, type ProbeState, type ScanRecord } from "../../shared/exposure/model.ts";
import { DIMENSION, METRIC } from "../../shared/metrics-names.ts";
import { metrics } from "./powertools.ts";

export function emitScanCompleted(scan: ScanRecord): void {
  metrics.addMetric(METRIC.scansCompleted, MetricUnit.Count, 1);
  if (scan.completedAt !== null) {
    const seconds = (Date.parse(scan.completedAt) - Date.parse(scan.startedAt)) / 1000;
    metrics.addMetric(METRIC.scanDuration, MetricUnit.Seconds, Math.max(0, seconds));
  }
  const byExposure = new Map(EXPOSURES.map((exposure) => [exposure, 0]));
  for (const [state, count] of Object.entries(scan.countsByState)) {
    const exposure = exposureOf(state as ProbeState);
    byExposure.set(exposure, (byExposure.get(exposure) ?? 0) + (count ?? 0));
  }
  // One metric per exposure level, each with its own dimension value: single metrics, flushed at once.
  for (const [exposure, count] of byExposure) {
    const single = metrics.singleMetric();
    single.addDimension(DIMENSION.exposure, exposure);
    single.addMetric(METRIC.endpointsByExposure, MetricUnit.Count, count);
  }
}
