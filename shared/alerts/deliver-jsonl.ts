// Alerts appended to a JSONL file, one alert object per line (`<store-dir>/alerts.jsonl`).
// The file itself is checked for the alert id, so even without a ledger (or after losing it)
// an alert is never written twice.
import type { Alert } from "./alert.ts";
import type { AlertDeliverer } from "./deliver.ts";
import { JsonLinesFile } from "./jsonl.ts";

export class JsonlFileDeliverer implements AlertDeliverer {
  readonly name = "jsonl";
  readonly #file: JsonLinesFile;
  #written: Set<string> | null = null;
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(path: string) {
    this.#file = new JsonLinesFile(path);
  }

  get path(): string {
    return this.#file.path;
  }

  async deliver(alert: Alert): Promise<void> {
    if (!this.#written) {
      const ids = (await this.#file.read()).map((line) => (line as { id?: unknown } | null)?.id);
      this.#written = new Set(ids.filter((id): id is string => typeof id === "string"));
    }
    if (this.#written.has(alert.id)) return;
    // A second call for an alert being written waits for that write instead of writing again.
    const inFlight = this.#inFlight.get(alert.id);
    if (inFlight) return inFlight;
    const write = this.#file.append([alert]).then(() => {
      this.#written?.add(alert.id);
    });
    this.#inFlight.set(alert.id, write);
    try {
      await write;
    } finally {
      this.#inFlight.delete(alert.id);
    }
  }
}
