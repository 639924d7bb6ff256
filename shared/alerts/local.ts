// The laptop monitor's channels (issue 3, "The command"): alerts always go to the console and to
// `<store-dir>/alerts.jsonl`, and to a webhook when one is given; delivery state lives in
// `<store-dir>/delivery/` so a failed delivery is retried by the next cycle.
import { join } from "node:path";
import type { AlertDeliverer } from "./deliver.ts";
import { ConsoleDeliverer } from "./deliver-console.ts";
import { JsonlFileDeliverer } from "./deliver-jsonl.ts";
import { WebhookDeliverer } from "./deliver-webhook.ts";
import { FileOutbox } from "./outbox.ts";

export interface LocalAlertingOptions {
  storeDir: string;
  webhookUrl?: string;
  out?: NodeJS.WritableStream;
}

export function localAlerting(options: LocalAlertingOptions): { deliverers: AlertDeliverer[]; outbox: FileOutbox } {
  const deliverers: AlertDeliverer[] = [
    new ConsoleDeliverer(options.out),
    new JsonlFileDeliverer(join(options.storeDir, "alerts.jsonl")),
  ];
  if (options.webhookUrl) deliverers.push(new WebhookDeliverer({ url: options.webhookUrl }));
  return { deliverers, outbox: new FileOutbox(join(options.storeDir, "delivery")) };
}
