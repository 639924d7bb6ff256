// Alerts on a terminal: one to three readable lines each (render.ts, consoleLines).
import type { Alert } from "./alert.ts";
import type { AlertDeliverer } from "./deliver.ts";
import { consoleLines } from "./render.ts";

export class ConsoleDeliverer implements AlertDeliverer {
  readonly name = "console";
  readonly #out: NodeJS.WritableStream;

  constructor(out: NodeJS.WritableStream = process.stdout) {
    this.#out = out;
  }

  async deliver(alert: Alert): Promise<void> {
    const text = `${consoleLines(alert).join("\n")}\n`;
    await new Promise<void>((resolve, reject) => {
      this.#out.write(text, (error) => (error ? reject(error) : resolve()));
    });
  }
}
