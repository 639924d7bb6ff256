// What a completed scan reports: the ScansCompleted metric (alarmed by infra/monitor-stack.ts when
// missing) and one log line with its duration and endpoints by exposure (not metrics: shared/metrics-names.ts).
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { EXPOSURES, exposureOf, type ProbeState, type ScanRecord } from "../../shared/exposure/model.ts";
import { METRIC } from "../../shared/metrics-names.ts";
import { logger, metrics } from "./powertools.ts";

export function emitScanCompleted(scan: ScanRecord): void {
  metrics.addMetric(METRIC.scansCompleted, MetricUnit.Count, 1);
  const byExposure = Object.fromEntries(EXPOSURES.map((exposure) => [exposure, 0]));
  for (const [state, count] of Object.entries(scan.countsByState)) {
    const exposure = exposureOf(state as ProbeState);
    byExposure[exposure] = (byExposure[exposure] ?? 0) + (count ?? 0);
  }
  const seconds =
    scan.completedAt === null ? null : Math.max(0, (Date.parse(scan.completedAt) - Date.parse(scan.startedAt)) / 1000);
  logger.info("scan completed", {
    scanId: scan.scanId,
    seconds,
    targets: scan.targets,
    endpointsByExposure: byExposure,
  });
}
