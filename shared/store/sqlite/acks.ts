// Acknowledgements in the embedded SQLite store: one row each, in a table of their own created on
// first use (docs/readme-store.md). Same behaviour as the DynamoDB side (dynamo-acks.ts).
import { type Acknowledgement, isActiveAt } from "../../exposure/acknowledgement.ts";
import type { Row, SqliteDatabase } from "./database.ts";

const TABLE = `CREATE TABLE IF NOT EXISTS acknowledgements (
  id       TEXT PRIMARY KEY,
  endpoint TEXT NOT NULL,
  created  TEXT NOT NULL,
  ack      TEXT NOT NULL            -- the Acknowledgement, JSON
) WITHOUT ROWID`;

export class SqliteAcknowledgements {
  readonly #db: SqliteDatabase;
  #ready = false;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  #table(): SqliteDatabase {
    if (!this.#ready) {
      this.#db.run(TABLE);
      this.#ready = true;
    }
    return this.#db;
  }

  put(ack: Acknowledgement): void {
    const db = this.#table();
    const changed = db.run(
      "INSERT OR IGNORE INTO acknowledgements (id, endpoint, created, ack) VALUES (?, ?, ?, ?)",
      ack.id,
      ack.endpoint,
      ack.createdAt,
      JSON.stringify(ack),
    );
    if (changed === 0) throw new Error(`acknowledgement ${ack.id} already exists`);
  }

  list(endpoint?: string): Acknowledgement[] {
    const db = this.#table();
    const rows: Row[] =
      endpoint === undefined
        ? db.all("SELECT ack FROM acknowledgements ORDER BY created, id")
        : db.all("SELECT ack FROM acknowledgements WHERE endpoint = ? ORDER BY created, id", endpoint);
    return rows.map((row) => JSON.parse(String(row.ack)) as Acknowledgement);
  }

  revoke(endpoint: string, at: string, by: string): Acknowledgement[] {
    return this.#table().transaction(() => {
      const revoked: Acknowledgement[] = [];
      for (const ack of this.list(endpoint)) {
        if (ack.revokedAt !== null || !isActiveAt(ack, at)) continue;
        const updated = { ...ack, revokedAt: at, revokedBy: by };
        this.#db.run("UPDATE acknowledgements SET ack = ? WHERE id = ?", JSON.stringify(updated), ack.id);
        revoked.push(updated);
      }
      return revoked;
    });
  }

  markExpiryAlerted(ack: Acknowledgement, at: string): boolean {
    return this.#table().transaction(() => {
      const row = this.#db.get("SELECT ack FROM acknowledgements WHERE id = ?", ack.id);
      if (row === undefined) return false;
      const current = JSON.parse(String(row.ack)) as Acknowledgement;
      if (current.expiryAlertedAt !== null) return false;
      this.#db.run(
        "UPDATE acknowledgements SET ack = ? WHERE id = ?",
        JSON.stringify({ ...current, expiryAlertedAt: at }),
        ack.id,
      );
      return true;
    });
  }
}
