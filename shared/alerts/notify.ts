// From recorded state-change events to delivered alerts: the body of the notify function (and of
// any other caller that holds events rather than alerts). An event whose alerts did not all reach
// every channel is reported back, so the caller can hand it over again (a DynamoDB stream batch
// item failure); the ledger makes the retry skip every delivery that already succeeded.
import type { StateChangeEvent } from "../exposure/model.ts";
import { alertsFromEvent } from "./alert.ts";
import { type AlertDeliverer, type DeliveryLedger, type DeliveryReport, deliverAll } from "./deliver.ts";

export interface EventDeliveryReport extends DeliveryReport {
  /** Events to retry, in the order given. */
  failedEventIds: string[];
}

export async function deliverEventAlerts(
  events: readonly StateChangeEvent[],
  deliverers: readonly AlertDeliverer[],
  ledger: DeliveryLedger,
): Promise<EventDeliveryReport> {
  const eventOfAlert = new Map<string, string>();
  const alerts = events.flatMap((event) =>
    alertsFromEvent(event).map((alert) => {
      eventOfAlert.set(alert.id, event.eventId);
      return alert;
    }),
  );
  const report = await deliverAll(alerts, deliverers, ledger);
  const failed = new Set(report.failed.map((failure) => eventOfAlert.get(failure.alertId)));
  return { ...report, failedEventIds: events.map((event) => event.eventId).filter((id) => failed.has(id)) };
}
