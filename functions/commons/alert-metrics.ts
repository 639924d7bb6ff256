// AlertsSent as notify emits it: the total (graphed by infra/monitor-stack.ts) and one per alert kind.
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { notificationFor } from "../../shared/alerts/alert.ts";
import type { DeliveryReport } from "../../shared/alerts/deliver.ts";
import type { AlertKind, StateChangeEvent } from "../../shared/exposure/model.ts";
import { DIMENSION, METRIC } from "../../shared/metrics-names.ts";
import { metrics } from "./powertools.ts";

export function emitAlertsSent(event: StateChangeEvent, report: Pick<DeliveryReport, "delivered">): void {
  metrics.addMetric(METRIC.alertsSent, MetricUnit.Count, report.delivered.length);
  const notification = notificationFor(event);
  const kindOf = new Map(notification ? [[notification.id, notification.kind]] : []);
  const byKind = new Map<AlertKind, number>();
  for (const { alertId } of report.delivered) {
    const kind = kindOf.get(alertId);
    if (kind !== undefined) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }
  for (const [kind, count] of byKind) {
    const single = metrics.singleMetric();
    single.addDimension(DIMENSION.alertKind, kind);
    single.addMetric(METRIC.alertsSent, MetricUnit.Count, count);
  }
}
