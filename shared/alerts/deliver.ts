// Delivering alerts to every channel, at least once and without repeats:
// - a ledger records each (alert id, channel) pair that succeeded, so a re-run after any failure
//   (a later channel, a crash, a redelivered event) delivers only what is missing;
// - an outbox keeps every alert until all channels have it, so a failed delivery is retried on
//   the next run and never dropped.
// The ledger and outbox are tiny interfaces: a local file (outbox.ts) or, in AWS, DynamoDB.
import type { Alert } from "./alert.ts";
import { DeliveryError } from "./retry.ts";

/** One channel. `name` is part of the ledger key: stable, and unique per destination. */
export interface AlertDeliverer {
  readonly name: string;
  /** Resolves once the channel has accepted the alert; throws (ideally a DeliveryError) otherwise. */
  deliver(alert: Alert): Promise<void>;
}

/** Which deliveries have succeeded. `mark` must be durable before it resolves. */
export interface DeliveryLedger {
  has(key: string): Promise<boolean>;
  mark(key: string): Promise<void>;
}

/** Alerts not yet delivered to every channel. `add` ignores ids it already holds. */
export interface AlertOutbox {
  add(alerts: readonly Alert[]): Promise<void>;
  pending(): Promise<Alert[]>;
  /** Removes alerts every channel has delivered. */
  settle(alertIds: readonly string[]): Promise<void>;
}

export function deliveryKey(alertId: string, deliverer: string): string {
  return `${alertId}|${deliverer}`;
}

export interface DeliveryFailure {
  alertId: string;
  deliverer: string;
  error: string;
  /** False when trying again cannot help without a change (bad URL, denied); it is kept all the same. */
  retryable: boolean;
}

export interface DeliveryReport {
  /** Pairs delivered in this run. */
  delivered: { alertId: string; deliverer: string }[];
  /** Pairs skipped because the ledger says an earlier run delivered them. */
  alreadyDelivered: { alertId: string; deliverer: string }[];
  /** Pairs that failed (or were not tried after their channel failed); retried on the next run. */
  failed: DeliveryFailure[];
}

/**
 * Delivers each alert to each channel the ledger does not already list. Channels run in
 * parallel, alerts in order within a channel. After a channel fails with a retryable error
 * (already retried inside the deliverer), its remaining alerts are not tried in this run: a
 * channel that is down would otherwise cost a full retry cycle per alert.
 */
export async function deliverAll(
  alerts: readonly Alert[],
  deliverers: readonly AlertDeliverer[],
  ledger: DeliveryLedger,
): Promise<DeliveryReport> {
  const report: DeliveryReport = { delivered: [], alreadyDelivered: [], failed: [] };
  await Promise.all(
    deliverers.map(async (deliverer) => {
      let down: string | null = null;
      for (const alert of alerts) {
        const pair = { alertId: alert.id, deliverer: deliverer.name };
        const key = deliveryKey(alert.id, deliverer.name);
        if (down !== null) {
          report.failed.push({ ...pair, error: `not tried: ${down}`, retryable: true });
          continue;
        }
        try {
          if (await ledger.has(key)) {
            report.alreadyDelivered.push(pair);
            continue;
          }
          await deliverer.deliver(alert);
          await ledger.mark(key);
          report.delivered.push(pair);
        } catch (error) {
          const retryable = !(error instanceof DeliveryError) || error.retryable;
          const message = error instanceof Error ? error.message : String(error);
          report.failed.push({ ...pair, error: message.split("\n")[0] ?? message, retryable });
          if (retryable) down = `${deliverer.name} failed earlier in this run`;
        }
      }
    }),
  );
  return report;
}

/**
 * The local monitor's delivery step: new alerts enter the outbox first (so a crash cannot lose
 * them), then everything pending goes out; alerts every channel has delivered leave the outbox.
 */
export async function deliverThroughOutbox(
  newAlerts: readonly Alert[],
  deliverers: readonly AlertDeliverer[],
  store: { ledger: DeliveryLedger; outbox: AlertOutbox },
): Promise<DeliveryReport & { pending: number }> {
  await store.outbox.add(newAlerts);
  const pending = await store.outbox.pending();
  const report = await deliverAll(pending, deliverers, store.ledger);
  const failedIds = new Set(report.failed.map((failure) => failure.alertId));
  const settled = pending.filter((alert) => !failedIds.has(alert.id)).map((alert) => alert.id);
  await store.outbox.settle(settled);
  return { ...report, pending: pending.length - settled.length };
}
