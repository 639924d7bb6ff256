// The laptop's delivery state, kept as files under the store directory (docs/readme-alerts.md):
//   delivered.jsonl  one {"key","at"} line per (alert, channel) delivery that succeeded; append-only
//   watermark.json   {"at"}: recorded events from this time on may still lack a delivery
// One process per directory (the local store is single-process anyway).
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import type { DeliveryLedger } from "./deliver.ts";
import { JsonLinesFile } from "./jsonl.ts";
import type { DeliveryWatermark } from "./notify.ts";

export class FileLedger implements DeliveryLedger {
  readonly dir: string;
  readonly #ledgerFile: JsonLinesFile;
  #delivered: Set<string> | null = null;

  constructor(dir: string) {
    this.dir = dir;
    this.#ledgerFile = new JsonLinesFile(join(dir, "delivered.jsonl"));
  }

  async has(key: string): Promise<boolean> {
    return (await this.#deliveredKeys()).has(key);
  }

  async mark(key: string): Promise<void> {
    const keys = await this.#deliveredKeys();
    if (keys.has(key)) return;
    await this.#ledgerFile.append([{ key, at: new Date().toISOString() }]);
    keys.add(key);
  }

  async #deliveredKeys(): Promise<Set<string>> {
    if (!this.#delivered) {
      const keys = new Set<string>();
      for (const entry of await this.#ledgerFile.read()) {
        const key = (entry as { key?: unknown } | null)?.key;
        if (typeof key === "string") keys.add(key);
      }
      this.#delivered = keys;
    }
    return this.#delivered;
  }
}

/** The delivery watermark in `<dir>/watermark.json`, replaced atomically (write, then rename). */
export class FileWatermark implements DeliveryWatermark {
  readonly #dir: string;
  readonly #path: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.#path = join(dir, "watermark.json");
  }

  async read(): Promise<string | null> {
    try {
      const value = JSON.parse(await readFile(this.#path, "utf8")) as { at?: unknown };
      return typeof value.at === "string" && !Number.isNaN(Date.parse(value.at)) ? value.at : null;
    } catch {
      return null; // missing or torn: the caller starts from its default look-back
    }
  }

  async write(at: string): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const temporary = `${this.#path}.${process.pid}.tmp`;
    const handle = await open(temporary, "w");
    try {
      await handle.writeFile(`${JSON.stringify({ at })}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.#path);
  }
}
