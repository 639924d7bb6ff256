// What notify reports about delivered alerts: a log line with the count in total and per alert kind
// (not metrics: custom metrics are kept to those alarmed on, shared/metrics-names.ts).
import { notificationFor } from "../../shared/alerts/alert.ts";
import type { DeliveryReport } from "../../shared/alerts/deliver.ts";
import type { AlertKind, StateChangeEvent } from "../../shared/exposure/model.ts";
import { logger } from "./powertools.ts";

export function emitAlertsSent(event: StateChangeEvent, report: Pick<DeliveryReport, "delivered">): void {
  const notification = notificationFor(event);
  const kindOf = new Map(notification ? [[notification.id, notification.kind]] : []);
  const byKind: Partial<Record<AlertKind, number>> = {};
  for (const { alertId } of report.delivered) {
    const kind = kindOf.get(alertId);
    if (kind !== undefined) byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  if (report.delivered.length > 0) {
    logger.info("alerts sent", { eventId: event.eventId, sent: report.delivered.length, byKind });
  }
}
