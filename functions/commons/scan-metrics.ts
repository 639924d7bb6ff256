// What a completed scan reports: the ScansCompleted metric (alarmed by infra/monitor-stack.ts when
// missing), its probe errors as CoverageGaps (alarmed when not zero: targets nobody could look at), and one
// log line with its duration and endpoints by exposure (not metrics: shared/metrics-names.ts).
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { EXPOSURES, exposureOf, PROBE_ERROR, type ProbeState, type ScanRecord } from "../../shared/exposure/model.ts";
import { METRIC } from "../../shared/metrics-names.ts";
import { logger, metrics } from "./powertools.ts";

export function emitScanCompleted(scan: ScanRecord): void {
  metrics.addMetric(METRIC.scansCompleted, MetricUnit.Count, 1);
  const byExposure = Object.fromEntries(EXPOSURES.map((exposure) => [exposure, 0]));
  // Probe errors say nothing about their targets (docs/readme-probe.md, "Probe errors"): a gap, never an exposure.
  const probeErrors = scan.countsByState[PROBE_ERROR] ?? 0;
  if (probeErrors > 0) metrics.addMetric(METRIC.coverageGaps, MetricUnit.Count, probeErrors);
  for (const [state, count] of Object.entries(scan.countsByState)) {
    if (state === PROBE_ERROR) continue;
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
    probeErrors,
  });
}
