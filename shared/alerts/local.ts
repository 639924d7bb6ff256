// The laptop monitor's channels (issue 3, "The command"): alerts always go to the console and to
// `<store-dir>/alerts.jsonl`, and to a webhook when one is given. The delivery state (ledger and
// outbox), so a failed delivery is retried by the next cycle, lives in the embedded store's file when
// it is given (outbox-sqlite.ts), else in `<store-dir>/delivery/` (outbox.ts; with --table).
import { join } from "node:path";
import type { AlertDeliverer } from "./deliver.ts";
import { ConsoleDeliverer } from "./deliver-console.ts";
import { JsonlFileDeliverer } from "./deliver-jsonl.ts";
import { WebhookDeliverer } from "./deliver-webhook.ts";
import { FileOutbox } from "./outbox.ts";
import type { SqliteOutbox } from "./outbox-sqlite.ts";

/** The ledger and outbox of the laptop's deliveries. */
export type LocalDeliveryState = FileOutbox | SqliteOutbox;

export interface LocalAlertingOptions {
  storeDir: string;
  webhookUrl?: string;
  out?: NodeJS.WritableStream;
  /** The embedded store's delivery state; default files under `<store-dir>/delivery/`. */
  state?: LocalDeliveryState;
}

export function localAlerting(options: LocalAlertingOptions): {
  deliverers: AlertDeliverer[];
  outbox: LocalDeliveryState;
} {
  const deliverers: AlertDeliverer[] = [
    new ConsoleDeliverer(options.out),
    new JsonlFileDeliverer(join(options.storeDir, "alerts.jsonl")),
  ];
  if (options.webhookUrl) deliverers.push(new WebhookDeliverer({ url: options.webhookUrl }));
  return { deliverers, outbox: options.state ?? new FileOutbox(join(options.storeDir, "delivery")) };
}
