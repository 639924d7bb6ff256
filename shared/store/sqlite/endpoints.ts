// Endpoint records and their events in the embedded store, and recording a shard's observations
// (docs/readme-store.md, "The embedded store"). Each record row carries its digest entry (the entry
// format of shared/store/digest.ts), written by the same statement as the record, so it is never
// stale. A shard is recorded in one transaction (BEGIN IMMEDIATE: the write lock, then the reads):
//   - one statement reads the digests of every endpoint of the shard;
//   - an observation with the same facts as its endpoint's digest is `unchanged` (as with the DynamoDB
//     store's digests): no record is read, parsed or written;
//   - any other is decided by decideTransition() against the record (read now) and written with its
//     event; a record without a digest (a file from before digests) gets one, so it is read once;
//   - then the shard's seen records (the caller's `afterRecords`), still in the transaction.
// Nothing can change the records between the reads and the writes, so there are no marks or retries.
import { type Exposure, formatEndpoint, type ProbeResult, type StateChangeEvent } from "../../exposure/model.ts";
import { decideTransition, type EndpointState } from "../../exposure/transitions.ts";
import { exposedSortKey, exposureOfSortKey } from "../contract.ts";
import { type DigestEntry, decodeEntries, encodeEntries, entryOf, unchangedAgainst } from "../digest.ts";
import { decodeRecord } from "../items.ts";
import type { RecordOptions, ShardRecordOptions, ShardRecordResult } from "../store.ts";
import type { SqliteDatabase } from "./database.ts";

/** The digest line of a record (digest.ts encodeEntries), under a placeholder name: the row names the endpoint. */
const DIGEST_NAME = "-";

export function digestOf(state: EndpointState): string {
  return encodeEntries(new Map([[DIGEST_NAME, entryOf(state)]]));
}

function entryOfDigest(digest: unknown): DigestEntry | undefined {
  return typeof digest === "string" ? decodeEntries(digest).get(DIGEST_NAME) : undefined;
}

/** Rows of `endpoints` for a list of endpoints, in one statement (the list passed as a JSON array). */
const OF_ENDPOINTS = "FROM endpoints WHERE endpoint IN (SELECT value FROM json_each(?))";

export class SqliteEndpoints {
  readonly #db: SqliteDatabase;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  read(endpoint: string): EndpointState | null {
    const row = this.#db.get("SELECT record FROM endpoints WHERE endpoint = ?", endpoint);
    return row ? decodeRecord(JSON.parse(row.record as string) as EndpointState) : null;
  }

  /** The exposure recorded at each endpoint's last observation (from the exposed-now sort key, no parsing). */
  exposures(endpoints: readonly string[]): Map<string, Exposure> {
    const exposures = new Map<string, Exposure>();
    for (const row of this.#db.all(`SELECT endpoint, exposed_key ${OF_ENDPOINTS}`, JSON.stringify(endpoints))) {
      exposures.set(
        String(row.endpoint),
        row.exposed_key === null ? "none" : exposureOfSortKey(String(row.exposed_key)),
      );
    }
    return exposures;
  }

  /** Writes the record (with its digest) and its event, if any; the caller holds the transaction. Returns the digest. */
  write(state: EndpointState, event: StateChangeEvent | null | undefined): string {
    const digest = digestOf(state);
    this.#db.run(
      `INSERT INTO endpoints (endpoint, ip, port, exposed_key, owner_account, owner_key, version, record, digest)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (endpoint) DO UPDATE SET exposed_key = excluded.exposed_key, owner_account = excluded.owner_account,
         owner_key = excluded.owner_key, version = excluded.version, record = excluded.record, digest = excluded.digest`,
      state.endpoint,
      state.ip,
      state.port,
      state.exposure !== "none" ? exposedSortKey(state) : null,
      state.asset?.accountId ?? null,
      state.asset ? `${state.asset.resourceId}#${state.endpoint}` : null,
      state.version,
      JSON.stringify(state),
      digest,
    );
    if (event) this.insertEvent(event);
    return digest;
  }

  /**
   * Inserts an event (false, and nothing written, when it is there already). The delivery watermark
   * (shared/alerts/ledger-sqlite.ts) says from which time recorded events may still lack a delivery, so an
   * event recorded with an earlier time (an acknowledgement's expiry, recorded after later events) moves
   * it back, in the same transaction: no crash in between can leave an event behind it, undelivered.
   */
  insertEvent(event: StateChangeEvent): boolean {
    const inserted = this.#db.run(
      "INSERT INTO events (endpoint, event_key, time_key, event) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      event.endpoint,
      `${event.at}#${event.eventId}`,
      `${event.at}#${event.endpoint}#${event.eventId}`,
      JSON.stringify(event),
    );
    if (inserted === 0) return false;
    this.#db.run("UPDATE delivery_watermark SET at = ? WHERE id = 1 AND at > ?", event.at, event.at);
    return true;
  }

  /** Records a shard's observations in one transaction (above); `afterRecords` runs in it last. */
  recordShard(
    results: readonly ProbeResult[],
    options: ShardRecordOptions & RecordOptions,
    afterRecords: () => void,
  ): ShardRecordResult[] {
    return this.#db.transaction(() => {
      const endpoints = results.map((result) => formatEndpoint(result.ip, result.port));
      const digests = new Map<string, unknown>();
      for (const row of this.#db.all(
        `SELECT endpoint, digest ${OF_ENDPOINTS}`,
        JSON.stringify([...new Set(endpoints)]),
      )) {
        digests.set(String(row.endpoint), row.digest);
      }
      /** Records read (or written) by this shard: the truth for later observations of the same endpoint. */
      const records = new Map<string, EndpointState | null>();
      const outcomes = results.map((result, i): ShardRecordResult => {
        const endpoint = endpoints[i] as string;
        const entry = records.has(endpoint) ? undefined : entryOfDigest(digests.get(endpoint));
        if (entry !== undefined && unchangedAgainst(entry, result)) return { outcome: "unchanged" };
        if (!records.has(endpoint)) records.set(endpoint, this.read(endpoint));
        const recorded = records.get(endpoint) ?? null;
        const { outcome, next, event } = decideTransition(recorded, result, options);
        if (next !== null) {
          digests.set(endpoint, this.write(next, event));
          records.set(endpoint, next);
        } else if (recorded !== null && digests.get(endpoint) !== digestOf(recorded)) {
          // A record without a (readable) digest: given one, so the next shard need not read it.
          const digest = digestOf(recorded);
          this.#db.run("UPDATE endpoints SET digest = ? WHERE endpoint = ?", digest, endpoint);
          digests.set(endpoint, digest);
        }
        return { outcome, ...(event ? { event } : {}) };
      });
      afterRecords();
      return outcomes;
    });
  }
}
