// The laptop monitor's channels (docs/readme-alerts.md): alerts always go to the console and to
// `<store-dir>/alerts.jsonl`, and to a webhook when one is given. The delivery state (the ledger and the
// delivery watermark), so a failed delivery is retried by the next cycle, lives in the embedded store's
// file (ledger-sqlite.ts).
import { join } from "node:path";
import type { AlertDeliverer, DeliveryLedger } from "./deliver.ts";
import { ConsoleDeliverer } from "./deliver-console.ts";
import { JsonlFileDeliverer } from "./deliver-jsonl.ts";
import { WebhookDeliverer } from "./deliver-webhook.ts";
import type { DeliveryWatermark } from "./notify.ts";

/** The ledger and watermark of the laptop's deliveries. */
export type LocalDeliveryState = DeliveryLedger & DeliveryWatermark;

export interface LocalAlertingOptions {
  storeDir: string;
  webhookUrl?: string;
  out?: NodeJS.WritableStream;
  /** The embedded store's delivery state. */
  state: LocalDeliveryState;
}

export interface LocalAlerting {
  deliverers: AlertDeliverer[];
  ledger: DeliveryLedger;
  watermark: DeliveryWatermark;
}

export function localAlerting(options: LocalAlertingOptions): LocalAlerting {
  const deliverers: AlertDeliverer[] = [
    new ConsoleDeliverer(options.out),
    new JsonlFileDeliverer(join(options.storeDir, "alerts.jsonl")),
  ];
  if (options.webhookUrl) deliverers.push(new WebhookDeliverer({ url: options.webhookUrl }));
  return { deliverers, ledger: options.state, watermark: options.state };
}
