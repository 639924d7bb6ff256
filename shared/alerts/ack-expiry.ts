// An acknowledgement that expires with its endpoint still exposed alerts once (docs/readme-acknowledgements.md):
// one rule (acknowledgementExpiryEvent) makes the expiry's event; the laptop delivers it through the event
// delivery path at once, the deployed monitor records it in the table, whose stream hands it to notify.
import {
  type Acknowledgement,
  acknowledgementExpiryEvent,
  activeAcknowledgement,
  expiredUnalerted,
} from "../exposure/acknowledgement.ts";
import type { StateChangeEvent } from "../exposure/model.ts";
import type { ExposureStore } from "../store/store.ts";
import type { Alert } from "./alert.ts";
import type { AlertDeliverer, DeliveryLedger, DeliveryReport } from "./deliver.ts";
import { deliverEventAlerts } from "./notify.ts";

export interface ExpiryDelivery extends DeliveryReport {
  alerts: Alert[];
}

/**
 * The laptop: delivers the expiry events due at `now` (acknowledgementExpiryEvent, the rule the deployed
 * monitor records) through the one event delivery path, and marks each acknowledgement once every
 * channel has its alert. Delivered here rather than recorded: an expiry lies behind the delivery watermark.
 */
export async function deliverExpiryAlerts(options: {
  store: Pick<ExposureStore, "getEndpoint" | "listAcknowledgements" | "markExpiryAlerted">;
  deliverers: readonly AlertDeliverer[];
  ledger: DeliveryLedger;
  now: Date;
}): Promise<ExpiryDelivery> {
  const now = options.now.toISOString();
  const acks = await options.store.listAcknowledgements();
  const due = await expiryEventsDue(options.store, acks, now);
  const events = due.flatMap((item) => (item.event ? [item.event] : []));
  const report = await deliverEventAlerts(events, options.deliverers, options.ledger, { acknowledgements: acks });
  const failed = new Set(report.failedEventIds);
  for (const { ack, event } of due) {
    if (event === null || !failed.has(event.eventId)) await options.store.markExpiryAlerted(ack, now);
  }
  return { ...report, alerts: report.notifications };
}

/** Records an expiry event and marks its acknowledgement, both or neither; false if already done. */
export interface ExpiryEventRecorder {
  recordExpiryEvent(ack: Acknowledgement, event: StateChangeEvent, at: string): Promise<boolean>;
}

/**
 * The deployed monitor (run by the enumerate function on the scan schedule): records each due expiry as
 * an event item, which the table's stream hands to the notify function like any other event; an
 * acknowledgement whose endpoint is no longer exposed is only marked. Safe to run again at any time.
 */
export async function recordExpiryEvents(options: {
  store: Pick<ExposureStore, "getEndpoint" | "listAcknowledgements" | "markExpiryAlerted">;
  recorder: ExpiryEventRecorder;
  now: Date;
}): Promise<{ recorded: StateChangeEvent[]; notExposed: number }> {
  const now = options.now.toISOString();
  const due = await expiryEventsDue(options.store, await options.store.listAcknowledgements(), now);
  const recorded: StateChangeEvent[] = [];
  let notExposed = 0;
  for (const { ack, event } of due) {
    if (event === null) {
      await options.store.markExpiryAlerted(ack, now);
      notExposed += 1;
    } else if (await options.recorder.recordExpiryEvent(ack, event, now)) {
      recorded.push(event);
    }
  }
  return { recorded, notExposed };
}

/** Expired acknowledgements not yet handled, each with its event (null: nothing to alert). */
async function expiryEventsDue(
  store: Pick<ExposureStore, "getEndpoint">,
  acks: readonly Acknowledgement[],
  now: string,
): Promise<{ ack: Acknowledgement; event: StateChangeEvent | null }[]> {
  const due: { ack: Acknowledgement; event: StateChangeEvent | null }[] = [];
  for (const ack of expiredUnalerted(acks, now)) {
    // A newer acknowledgement in force at the expiry takes over: nothing to alert.
    const covered = activeAcknowledgement(acks, ack.endpoint, ack.until) !== null;
    due.push({ ack, event: covered ? null : acknowledgementExpiryEvent(ack, await store.getEndpoint(ack.endpoint)) });
  }
  return due;
}
