// Delivering alerts to every channel, at least once and without repeats: a ledger records each
// (alert id, channel) pair that succeeded, so a re-run after any failure (a later channel, a crash, a
// redelivered event) delivers only what is missing. The ledger is a tiny interface: a local file
// (ledger-sqlite.ts, in the embedded store's file) or, in AWS, the table (ledger-dynamodb.ts). Which alerts to deliver, and what happens to
// the ones that failed, is notify.ts's concern (docs/readme-alerts.md, "Delivery").
import type { Alert } from "./alert.ts";
import { DeliveryError } from "./retry.ts";

/** One channel. `name` is part of the ledger key: stable, and unique per destination. */
export interface AlertDeliverer {
  readonly name: string;
  /**
   * Resolves once the channel has accepted the alert; throws (ideally a DeliveryError) otherwise. `signal`
   * aborts when the caller's delivery budget is spent: stop retrying and give up.
   */
  deliver(alert: Alert, signal?: AbortSignal): Promise<void>;
}

/** Which deliveries have succeeded. `mark` must be durable before it resolves. */
export interface DeliveryLedger {
  has(key: string): Promise<boolean>;
  mark(key: string): Promise<void>;
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
  /** Pairs that failed (or were not tried after their channel failed, or out of time), in order per channel. */
  failed: DeliveryFailure[];
}

export interface DeliverOptions {
  /** Epoch ms by which every delivery of this call has ended, delivered or not (default: no limit). */
  deadline?: number;
}

/**
 * Delivers each alert to each channel the ledger does not already list. Channels run in parallel (a slow
 * one never delays another), alerts in order within a channel. After a channel fails with a retryable
 * error (already retried inside the deliverer), its remaining alerts are not tried in this call: a channel
 * that is down would otherwise cost a full retry cycle per alert, and a later alert (a `resolved`) must not
 * overtake the one that failed. With a deadline, a delivery still running when it passes is abandoned and
 * reported failed, like the alerts after it.
 */
export async function deliverAll(
  alerts: readonly Alert[],
  deliverers: readonly AlertDeliverer[],
  ledger: DeliveryLedger,
  options: DeliverOptions = {},
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
          await withinDeadline(deliverer, alert, options.deadline);
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

/** One delivery, abandoned (and its signal aborted) when the deadline passes, whatever the deliverer does. */
async function withinDeadline(deliverer: AlertDeliverer, alert: Alert, deadline: number | undefined): Promise<void> {
  if (deadline === undefined) return deliverer.deliver(alert);
  const remaining = deadline - Date.now();
  if (remaining <= 0) throw new DeliveryError("not tried: the delivery budget was spent", { retryable: true });
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DeliveryError(`no answer within the delivery budget (${remaining} ms)`, { retryable: true }));
    }, remaining);
  });
  const delivery = deliverer.deliver(alert, controller.signal);
  delivery.catch(() => undefined); // settled after the race is lost: nothing is waiting for it any more
  try {
    await Promise.race([delivery, expiry]);
  } finally {
    clearTimeout(timer);
  }
}
