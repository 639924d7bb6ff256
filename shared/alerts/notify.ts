// From recorded state-change events to delivered alerts: the one delivery path of the notify function and
// of the laptop monitor (docs/readme-alerts.md, "Delivery"). Each event makes at most one notification
// (alert.ts notificationFor), delivered to every channel in event order through the ledger, within a time
// budget. What failed is reported back by event (and handed whole to a retry queue in AWS); the laptop
// keeps a watermark instead, so the next run reads the events again from the first one still missing a
// delivery, and the ledger skips every delivery that already succeeded.
import type { Acknowledgement } from "../exposure/acknowledgement.ts";
import type { StateChangeEvent } from "../exposure/model.ts";
import type { ExposureStore } from "../store/store.ts";
import { allItems } from "../store/store.ts";
import { holdAcknowledged } from "./acknowledged.ts";
import { type Alert, notificationFor } from "./alert.ts";
import {
  type AlertDeliverer,
  type DeliverOptions,
  type DeliveryLedger,
  type DeliveryReport,
  deliverAll,
} from "./deliver.ts";

export interface EventDeliveryReport extends DeliveryReport {
  /** The notifications of the events given, in order (one per event at most). */
  notifications: Alert[];
  /** Notifications an acknowledgement in force held back: recorded, not paged (acknowledged.ts). */
  held: { alert: Alert; ack: Acknowledgement }[];
  /** Events with a notification some channel still lacks, in the order given. */
  failedEventIds: string[];
}

export interface EventDeliverOptions extends DeliverOptions {
  /** Acknowledgements to honour (all of the store's, or those of the events' endpoints). */
  acknowledgements?: readonly Acknowledgement[];
}

export async function deliverEventAlerts(
  events: readonly StateChangeEvent[],
  deliverers: readonly AlertDeliverer[],
  ledger: DeliveryLedger,
  options: EventDeliverOptions = {},
): Promise<EventDeliveryReport> {
  const eventOfAlert = new Map<string, string>();
  const notifications: Alert[] = [];
  for (const event of events) {
    const alert = notificationFor(event);
    if (alert === null || eventOfAlert.has(alert.id)) continue;
    eventOfAlert.set(alert.id, event.eventId);
    notifications.push(alert);
  }
  const { page, held } = holdAcknowledged(notifications, options.acknowledgements ?? []);
  const report = await deliverAll(page, deliverers, ledger, options);
  const failed = new Set(report.failed.map((failure) => eventOfAlert.get(failure.alertId)));
  return {
    ...report,
    notifications,
    held,
    failedEventIds: events.map((event) => event.eventId).filter((id) => failed.has(id)),
  };
}

/** Where the laptop keeps the time from which recorded events may still lack a delivery. */
export interface DeliveryWatermark {
  read(): Promise<string | null>;
  write(at: string): Promise<void>;
}

export interface RecordedDeliveryOptions extends DeliverOptions {
  store: Pick<ExposureStore, "eventsBetween" | "listAcknowledgements">;
  deliverers: readonly AlertDeliverer[];
  ledger: DeliveryLedger;
  watermark: DeliveryWatermark;
  /** Default: the clock. */
  now?: Date;
  /** Where a store without a watermark starts (default 24 hours back). */
  firstLookBackMs?: number;
}

export interface RecordedDeliveryReport extends EventDeliveryReport {
  /** The watermark after this run. */
  watermark: string;
}

/**
 * Delivers the notifications of every event recorded since the watermark, oldest first, and moves the
 * watermark to the first event still missing a delivery (or to the newest event, when none is). Events are
 * read from the store, so an event recorded by a run that crashed before delivering goes out next time.
 */
export async function deliverRecordedEvents(options: RecordedDeliveryOptions): Promise<RecordedDeliveryReport> {
  const now = options.now ?? new Date();
  const from =
    (await options.watermark.read()) ?? new Date(now.getTime() - (options.firstLookBackMs ?? 86_400_000)).toISOString();
  // A minute ahead: an observation stamped by a clock slightly ahead of this one is still read.
  const range = { from, to: new Date(now.getTime() + 60_000).toISOString() };
  const events: StateChangeEvent[] = [];
  for await (const event of allItems((cursor) => options.store.eventsBetween(range, cursor ? { cursor } : {}))) {
    events.push(event);
  }
  const acknowledgements = events.length > 0 ? await options.store.listAcknowledgements() : [];
  const report = await deliverEventAlerts(events, options.deliverers, options.ledger, {
    ...options,
    acknowledgements,
  });
  const failed = new Set(report.failedEventIds);
  const firstFailed = events.find((event) => failed.has(event.eventId));
  // Everything delivered: just past the newest event, so the next run starts with what is new.
  const last = events.at(-1);
  const watermark = firstFailed?.at ?? (last ? new Date(Date.parse(last.at) + 1).toISOString() : from);
  if (watermark !== from) await options.watermark.write(watermark);
  return { ...report, watermark };
}
