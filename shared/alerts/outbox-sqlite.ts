// The laptop's delivery ledger and outbox (deliver.ts) in the embedded store's SQLite file, beside the
// history they belong to (tables `deliveries` and `outbox`, shared/store/sqlite/database.ts). Every
// change is a transaction committed durably, so two commands on one store directory (`watch` and a
// `scan`) never lose or duplicate each other's marks.
import type { SqliteDatabase } from "../store/sqlite/database.ts";
import type { Alert } from "./alert.ts";
import type { AlertOutbox, DeliveryLedger } from "./deliver.ts";

export class SqliteOutbox implements DeliveryLedger, AlertOutbox {
  readonly #db: SqliteDatabase;
  readonly #now: () => Date;

  constructor(db: SqliteDatabase, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  get ledger(): DeliveryLedger {
    return this;
  }

  get outbox(): AlertOutbox {
    return this;
  }

  async has(key: string): Promise<boolean> {
    return this.#db.get("SELECT 1 AS found FROM deliveries WHERE key = ?", key) !== undefined;
  }

  async mark(key: string): Promise<void> {
    const at = this.#now().toISOString();
    this.#db.durably(() =>
      this.#db.run("INSERT INTO deliveries (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING", key, at),
    );
  }

  async add(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    this.#db.durably(() => {
      for (const alert of alerts) {
        this.#db.run(
          "INSERT INTO outbox (alert_id, alert) VALUES (?, ?) ON CONFLICT (alert_id) DO NOTHING",
          alert.id,
          JSON.stringify(alert),
        );
      }
    });
  }

  /** Oldest first (the order they were added). */
  async pending(): Promise<Alert[]> {
    return this.#db.all("SELECT alert FROM outbox ORDER BY seq").map((row) => JSON.parse(row.alert as string) as Alert);
  }

  async settle(alertIds: readonly string[]): Promise<void> {
    if (alertIds.length === 0) return;
    this.#db.durably(() => {
      for (const id of alertIds) this.#db.run("DELETE FROM outbox WHERE alert_id = ?", id);
    });
  }
}
