// The local delivery ledger and outbox, kept as files under the store directory:
//   delivered.jsonl  one {"key","at"} line per (alert, channel) delivery that succeeded; append-only
//   outbox.jsonl     the alerts some channel still lacks, one per line; rewritten atomically
// One process per directory (the local store is single-process anyway).
import { mkdir, open, rename } from "node:fs/promises";
import { join } from "node:path";
import type { Alert } from "./alert.ts";
import type { AlertOutbox, DeliveryLedger } from "./deliver.ts";
import { JsonLinesFile } from "./jsonl.ts";

export class FileOutbox implements DeliveryLedger, AlertOutbox {
  readonly dir: string;
  readonly #ledgerFile: JsonLinesFile;
  readonly #outboxPath: string;
  #delivered: Set<string> | null = null;
  #pending: Map<string, Alert> | null = null;

  constructor(dir: string) {
    this.dir = dir;
    this.#ledgerFile = new JsonLinesFile(join(dir, "delivered.jsonl"));
    this.#outboxPath = join(dir, "outbox.jsonl");
  }

  get ledger(): DeliveryLedger {
    return this;
  }

  get outbox(): AlertOutbox {
    return this;
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

  async add(alerts: readonly Alert[]): Promise<void> {
    const pending = await this.#pendingAlerts();
    const fresh = alerts.filter((alert) => !pending.has(alert.id));
    if (fresh.length === 0) return;
    for (const alert of fresh) pending.set(alert.id, alert);
    await this.#writeOutbox(pending);
  }

  async pending(): Promise<Alert[]> {
    return [...(await this.#pendingAlerts()).values()];
  }

  async settle(alertIds: readonly string[]): Promise<void> {
    const pending = await this.#pendingAlerts();
    let changed = false;
    for (const id of alertIds) changed = pending.delete(id) || changed;
    if (changed) await this.#writeOutbox(pending);
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

  async #pendingAlerts(): Promise<Map<string, Alert>> {
    if (!this.#pending) {
      const pending = new Map<string, Alert>();
      for (const alert of await new JsonLinesFile(this.#outboxPath).read()) {
        const id = (alert as { id?: unknown } | null)?.id;
        if (typeof id === "string") pending.set(id, alert as Alert);
      }
      this.#pending = pending;
    }
    return this.#pending;
  }

  /** Write-then-rename, so a crash leaves either the old or the new outbox, never half of one. */
  async #writeOutbox(pending: Map<string, Alert>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const temporary = `${this.#outboxPath}.${process.pid}.tmp`;
    const handle = await open(temporary, "w");
    try {
      await handle.writeFile([...pending.values()].map((alert) => `${JSON.stringify(alert)}\n`).join(""));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.#outboxPath);
  }
}
