// The embedded store's database: one SQLite file (node:sqlite), opened in-process. Nothing listens
// on any port; who can read the file decides who can read the history (the directory is made 0700
// and the file 0600). Layout and guarantees: docs/readme-store.md.
//
// - WAL journal: readers never block the writer and see a consistent snapshot, so `exposure exposed`
//   can run while `exposure watch` records.
// - Every write that depends on what it read runs in BEGIN IMMEDIATE: the write lock is taken before
//   the read, so two processes on one file decide one after the other, never on the same old record.
//   A process waiting for the lock waits up to `busyTimeoutMs` (SQLite's busy handler).
// - synchronous=NORMAL: a commit survives the process crashing at any point; an OS crash or power loss
//   may lose the last commits (never corrupt the file), which the next cycle observes again.
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { sqlite } from "./driver.ts";

/** Bumped when the tables below change; a file from a newer version is refused rather than misread. */
export const SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS endpoints (
  endpoint      TEXT PRIMARY KEY,
  ip            TEXT NOT NULL,
  port          INTEGER NOT NULL,
  exposed_key   TEXT,              -- exposedSortKey() while exposure is not none, else NULL
  owner_account TEXT,
  owner_key     TEXT,              -- <resourceId>#<endpoint>
  version       INTEGER NOT NULL,
  record        TEXT NOT NULL,     -- the EndpointState, JSON
  digest        TEXT               -- the record's digest entry (endpoints.ts); NULL: not vouched for
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS endpoints_by_ip ON endpoints (ip, port);
CREATE INDEX IF NOT EXISTS endpoints_exposed ON endpoints (exposed_key) WHERE exposed_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS endpoints_by_owner ON endpoints (owner_account, owner_key) WHERE owner_account IS NOT NULL;

CREATE TABLE IF NOT EXISTS events (
  endpoint  TEXT NOT NULL,
  event_key TEXT NOT NULL,         -- <at>#<eventId>
  time_key  TEXT NOT NULL UNIQUE,  -- <at>#<endpoint>#<eventId>
  event     TEXT NOT NULL,         -- the StateChangeEvent, JSON
  PRIMARY KEY (endpoint, event_key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS scans (
  scan_id  TEXT PRIMARY KEY,
  time_key TEXT NOT NULL UNIQUE,   -- <startedAt>#<scanId>
  scan     TEXT NOT NULL           -- the ScanRecord, JSON
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scan_shards (
  scan_id  TEXT NOT NULL,
  shard_id TEXT NOT NULL,
  PRIMARY KEY (scan_id, shard_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS seen (
  bucket INTEGER PRIMARY KEY,      -- the seen bucket (shared/store/digest.ts seenBucketOf)
  groups TEXT NOT NULL             -- its seen groups (shared/store/seen.ts), JSON, hashes packed as hex
);

CREATE TABLE IF NOT EXISTS deliveries (
  key TEXT PRIMARY KEY,            -- <alertId>|<channel>
  at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivery_watermark (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  at TEXT NOT NULL                 -- recorded events from this time on may still lack a delivery
);
`;

export interface SqliteDatabaseOptions {
  /** The database file, or ":memory:" (tests, the demo). */
  path: string;
  /** How long a write waits for another process's write lock (default 10 s). */
  busyTimeoutMs?: number;
}

export type Row = Record<string, unknown>;

export class SqliteDatabase {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #inTransaction = false;

  constructor(options: SqliteDatabaseOptions) {
    this.path = options.path;
    const inMemory = options.path === ":memory:";
    if (!inMemory) {
      mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
      // Created here, owner-only, so SQLite's -wal and -shm files (which copy its mode) are owner-only too.
      closeSync(openSync(options.path, "a", 0o600));
    }
    const { DatabaseSync } = sqlite();
    this.#db = new DatabaseSync(options.path);
    try {
      // As a pragma rather than the constructor's `timeout` option, which older Node 22 releases ignore.
      this.#db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000))}`);
      if (!inMemory) {
        this.#db.exec("PRAGMA journal_mode = WAL");
        this.#db.exec("PRAGMA synchronous = NORMAL");
      }
      this.transaction(() => {
        const version = Number((this.get("PRAGMA user_version") as { user_version: number }).user_version);
        if (version > SCHEMA_VERSION) {
          throw new Error(
            `${options.path} was written by a newer version of this tool (store schema ${version}, this one knows ${SCHEMA_VERSION})`,
          );
        }
        if (version < SCHEMA_VERSION) {
          this.#db.exec(SCHEMA);
          // Schema 3 added endpoints.digest: an older file's rows get NULL, filled in by the next shard.
          const columns = this.all("PRAGMA table_info(endpoints)").map((column) => column.name);
          if (!columns.includes("digest")) this.#db.exec("ALTER TABLE endpoints ADD COLUMN digest TEXT");
          this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
        }
      });
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#statement(sql).get(...params) as Row | undefined;
  }

  all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#statement(sql).all(...params) as Row[];
  }

  /** Runs a write; returns how many rows it changed. */
  run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.#statement(sql).run(...params).changes);
  }

  /**
   * Runs `work` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK if it throws). `work` is synchronous, so
   * nothing else in this process runs in between, and the write lock keeps other processes out.
   */
  transaction<T>(work: () => T): T {
    if (this.#inTransaction) return work();
    this.#db.exec("BEGIN IMMEDIATE");
    this.#inTransaction = true;
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // SQLite already rolled back (e.g. after a failed COMMIT); the original error is what matters.
      }
      throw error;
    } finally {
      this.#inTransaction = false;
    }
  }

  /**
   * A transaction committed with synchronous=FULL: on disk before this returns, even across a power
   * cut. For the few writes whose loss would repeat something outside (an alert delivery mark).
   */
  durably<T>(work: () => T): T {
    if (this.path === ":memory:") return this.transaction(work);
    this.#db.exec("PRAGMA synchronous = FULL");
    try {
      return this.transaction(work);
    } finally {
      this.#db.exec("PRAGMA synchronous = NORMAL");
    }
  }

  close(): void {
    this.#statements.clear();
    this.#db.close();
  }
}
