// The fast path's latency metric (docs/fastpath.md): from the AWS change (the event time a fast-path probe id
// carries, shared/fastpath/schedule.ts) to the alert delivered by notify. Alerts from the sweep or the armed
// tier carry no event time and emit nothing.
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { StateChangeEvent } from "../../shared/exposure/model.ts";
import { eventTimeOfProbeId } from "../../shared/fastpath/schedule.ts";
import { FASTPATH_METRIC } from "../../shared/metrics-names.ts";
import { metrics } from "./powertools.ts";

export function emitFastPathLatency(
  event: Pick<StateChangeEvent, "scanId">,
  delivered: number,
  now = Date.now(),
): void {
  const eventTime = eventTimeOfProbeId(event.scanId);
  if (eventTime === null || delivered === 0) return;
  metrics.addMetric(FASTPATH_METRIC.fastPathEventToAlert, MetricUnit.Milliseconds, Math.max(0, now - eventTime));
}
