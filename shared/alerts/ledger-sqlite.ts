// The laptop's delivery state in the embedded store's SQLite file, beside the history it belongs to
// (tables `deliveries` and `delivery_watermark`, shared/store/sqlite/database.ts): the ledger of
// (alert, channel) deliveries that succeeded, and the watermark from which recorded events may still lack
// a delivery (shared/alerts/notify.ts). Every change is a transaction committed durably, so two commands
// on one store directory (`watch` and a `scan`) never lose or duplicate each other's marks.
import type { SqliteDatabase } from "../store/sqlite/database.ts";
import type { DeliveryLedger } from "./deliver.ts";
import type { DeliveryWatermark } from "./notify.ts";

export class SqliteDeliveryState implements DeliveryLedger, DeliveryWatermark {
  readonly #db: SqliteDatabase;
  readonly #now: () => Date;

  constructor(db: SqliteDatabase, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
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

  async read(): Promise<string | null> {
    const row = this.#db.get("SELECT at FROM delivery_watermark WHERE id = 1");
    return typeof row?.at === "string" ? row.at : null;
  }

  async write(at: string): Promise<void> {
    this.#db.durably(() =>
      this.#db.run(
        "INSERT INTO delivery_watermark (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        at,
      ),
    );
  }
}
