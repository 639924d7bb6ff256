// Every recorded state change, alerting or not, also goes to the outputs AWS shops route from:
// EventBridge (eventbridge.ts) and Security Hub (securityhub.ts) (docs/readme-outputs.md). Like alert
// delivery, each (event, output) pair is recorded in the delivery ledger once it succeeded, so a
// redelivered stream record publishes only what is missing.
import { type DeliveryLedger, deliveryKey } from "../alerts/deliver.ts";
import { DeliveryError } from "../alerts/retry.ts";
import type { StateChangeEvent } from "../exposure/model.ts";

export interface EventPublisher {
  /** Part of the ledger key: stable, unique per destination. */
  readonly name: string;
  publish(event: StateChangeEvent): Promise<void>;
}

export interface PublishReport {
  published: string[];
  alreadyPublished: string[];
  failed: { publisher: string; error: string; retryable: boolean }[];
}

export async function publishEvent(
  event: StateChangeEvent,
  publishers: readonly EventPublisher[],
  ledger: DeliveryLedger,
): Promise<PublishReport> {
  const report: PublishReport = { published: [], alreadyPublished: [], failed: [] };
  await Promise.all(
    publishers.map(async (publisher) => {
      const key = deliveryKey(event.eventId, publisher.name);
      try {
        if (await ledger.has(key)) {
          report.alreadyPublished.push(publisher.name);
          return;
        }
        await publisher.publish(event);
        await ledger.mark(key);
        report.published.push(publisher.name);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const retryable = !(error instanceof DeliveryError) || error.retryable;
        report.failed.push({ publisher: publisher.name, error: message.split("\n")[0] ?? message, retryable });
      }
    }),
  );
  return report;
}
