// The ExposureStore on the embedded SQLite database (database.ts): the laptop's default store. Same
// contract as dynamo-store.ts (test/integration/store-contract.ts runs one suite against both):
// - recordObservation reads the record, lets decideTransition() decide, and when something is to be
//   written, takes the write lock (BEGIN IMMEDIATE), reads and decides again, and writes the record
//   and the event in that one transaction. The common case, nothing to write, takes no lock at all.
// - a shard's observations are recorded in one transaction against the records' digests, with the
//   same decisions (endpoints.ts);
// - event ids come from (endpoint, observedAt) and an observation not newer than lastObservedAt
//   writes nothing, so redeliveries and out-of-order results yield at most one event;
// - a shard is counted only if its id was not yet in scan_shards, in the transaction that adds its counts.
// Listings walk the same orders as the DynamoDB indexes (contract.ts), with keyset cursors.
import type { Acknowledgement } from "../../exposure/acknowledgement.ts";
import { formatEndpoint, type ProbeResult, type ScanRecord, type StateChangeEvent } from "../../exposure/model.ts";
import { canonicalTime, decideTransition, type EndpointState } from "../../exposure/transitions.ts";
import { decodeCursor, encodeCursor, newScanRecord, pageSize, shardCounts, timeRangeBounds } from "../contract.ts";
import { observedByBucket, seenBucketOf } from "../digest.ts";
import { decodeRecord } from "../items.ts";
import { mergeSeen, type SeenGroup, seenGroupId, withSeen } from "../seen.ts";
import type {
  ExposureStore,
  Page,
  PageOptions,
  RecordOptions,
  RecordResult,
  ScanStart,
  ShardRecorder,
  ShardRecordOptions,
  ShardReport,
  ShardResult,
  TimeRange,
} from "../store.ts";
import { SqliteAcknowledgements } from "./acks.ts";
import type { Row, SqliteDatabase } from "./database.ts";
import { SqliteEndpoints } from "./endpoints.ts";

export interface SqliteStoreOptions {
  db: SqliteDatabase;
  /** The clock for scan start and completion times (observations carry their own time). */
  now?: () => Date;
}

/** Keyset paging: `sql` selects `column` (the sort key) and `value`, ordered by the sort key, and ends
 *  with `LIMIT ?`; its parameters are the query's, then the key to start after, then the limit. */
interface PagedQuery {
  sql: string;
  params: (string | number)[];
}

export class SqliteExposureStore implements ExposureStore {
  readonly db: SqliteDatabase;
  readonly #now: () => Date;
  readonly #endpoints: SqliteEndpoints;

  constructor(options: SqliteStoreOptions) {
    this.db = options.db;
    this.#now = options.now ?? (() => new Date());
    this.#endpoints = new SqliteEndpoints(options.db);
  }

  // ---- observations -------------------------------------------------------------------------------

  async recordObservation(result: ProbeResult, options: RecordOptions = {}): Promise<RecordResult> {
    const endpoint = formatEndpoint(result.ip, result.port);
    const first = this.#endpoints.read(endpoint);
    const decision = decideTransition(first, result, options);
    if (decision.next === null) return { outcome: decision.outcome, state: first };
    // Something is to be written: decide again under the write lock, against what is there now.
    return this.db.transaction(() => {
      const recorded = this.#endpoints.read(endpoint);
      const { outcome, next, event } = decideTransition(recorded, result, options);
      if (next === null) return { outcome, state: recorded };
      this.#endpoints.write(next, event);
      return { outcome, ...(event ? { event } : {}), state: next };
    });
  }

  /**
   * The recorded exposures come from the exposed-now sort key, without parsing the records; the
   * observations are recorded in one transaction against the records' digests (endpoints.ts).
   */
  async beginShard(endpoints: readonly string[], options: ShardRecordOptions = {}): Promise<ShardRecorder> {
    const exposures = this.#endpoints.exposures(endpoints);
    return {
      recordedExposure: (endpoint) => exposures.get(endpoint),
      record: async (results) =>
        this.#endpoints.recordShard(results, options, () => this.#recordSeen(results, options.scanId)),
    };
  }

  /** The shard's observations into their buckets' seen records (shared/store/seen.ts), as the DynamoDB store does. */
  #recordSeen(results: readonly ProbeResult[], scanId: string | undefined): void {
    const observed = observedByBucket(results);
    if (observed.size === 0) return;
    this.db.transaction(() => {
      for (const [bucket, times] of observed) {
        const groups = mergeSeen(this.#seenGroups(bucket) ?? [], seenGroupId(scanId, times), times);
        this.db.run(
          "INSERT INTO seen (bucket, groups) VALUES (?, ?) ON CONFLICT (bucket) DO UPDATE SET groups = excluded.groups",
          bucket,
          JSON.stringify(groups.map((group) => ({ ...group, hashes: [...group.hashes] }))),
        );
      }
    });
  }

  #seenGroups(bucket: number): SeenGroup[] | undefined {
    const row = this.db.get("SELECT groups FROM seen WHERE bucket = ?", bucket);
    if (row === undefined) return undefined;
    const groups = JSON.parse(row.groups as string) as { scanId: string; at: string; hashes: string[] }[];
    return groups.map((group) => ({ ...group, hashes: new Set(group.hashes) }));
  }

  /** A record as returned to readers: lastObservedAt from its seen record too. */
  #withSeen(state: EndpointState): EndpointState {
    return withSeen(state, this.#seenGroups(seenBucketOf(state.endpoint)));
  }

  #withSeenPage(page: Page<EndpointState>): Page<EndpointState> {
    return { ...page, items: page.items.map((state) => this.#withSeen(state)) };
  }

  // ---- endpoint reads -----------------------------------------------------------------------------

  async getEndpoint(endpoint: string): Promise<EndpointState | null> {
    const state = this.#endpoints.read(endpoint);
    return state === null ? null : this.#withSeen(state);
  }

  async endpointsOfIp(ip: string): Promise<EndpointState[]> {
    return this.db
      .all("SELECT record FROM endpoints WHERE ip = ? ORDER BY port", ip)
      .map((row) => this.#withSeen(decodeRecord(JSON.parse(row.record as string) as EndpointState)));
  }

  async history(endpoint: string, options: Partial<TimeRange> & PageOptions = {}): Promise<Page<StateChangeEvent>> {
    // The same bounds as the DynamoDB sort key: "<to>" sorts before every "<to>#id", so `to` is
    // exclusive; "~" sorts after any time.
    const from = options.from ? canonicalTime(options.from) : "";
    const to = options.to ? canonicalTime(options.to) : "~";
    return this.#page<StateChangeEvent>(
      {
        sql: `SELECT event_key AS key, event AS value FROM events
              WHERE endpoint = ? AND event_key BETWEEN ? AND ? AND event_key > ? ORDER BY event_key LIMIT ?`,
        params: [endpoint, from, to],
      },
      options,
    );
  }

  async listExposed(options: PageOptions = {}): Promise<Page<EndpointState>> {
    const page = this.#page<EndpointState>(
      {
        sql: `SELECT exposed_key AS key, record AS value FROM endpoints
              WHERE exposed_key IS NOT NULL AND exposed_key > ? ORDER BY exposed_key LIMIT ?`,
        params: [],
      },
      options,
    );
    return this.#withSeenPage(page);
  }

  async endpointsByOwner(
    accountId: string,
    options: { resourceId?: string } & PageOptions = {},
  ): Promise<Page<EndpointState>> {
    // begins_with(owner_key, "<resourceId>#") as a range the index serves: "$" is the character after "#".
    const byResource = options.resourceId !== undefined;
    const page = this.#page<EndpointState>(
      {
        sql: `SELECT owner_key AS key, record AS value FROM endpoints WHERE owner_account = ?
              ${byResource ? "AND owner_key >= ? AND owner_key < ?" : ""} AND owner_key > ? ORDER BY owner_key LIMIT ?`,
        params: byResource ? [accountId, `${options.resourceId}#`, `${options.resourceId}$`] : [accountId],
      },
      options,
    );
    return this.#withSeenPage(page);
  }

  async eventsBetween(range: TimeRange, options: PageOptions = {}): Promise<Page<StateChangeEvent>> {
    return this.#pageInRange<StateChangeEvent>("SELECT time_key AS key, event AS value FROM events", range, options);
  }

  // ---- scans --------------------------------------------------------------------------------------

  async startScan(start: ScanStart): Promise<{ created: boolean; scan: ScanRecord }> {
    const scan = newScanRecord(start, this.#now());
    const inserted = this.db.run(
      "INSERT INTO scans (scan_id, time_key, scan) VALUES (?, ?, ?) ON CONFLICT (scan_id) DO NOTHING",
      scan.scanId,
      `${scan.startedAt}#${scan.scanId}`,
      JSON.stringify(scan),
    );
    if (inserted === 1) return { created: true, scan };
    const existing = this.#readScan(start.scanId);
    if (existing === null) throw new Error(`scan "${start.scanId}" could not be created`);
    return { created: false, scan: existing };
  }

  async recordShard(report: ShardReport): Promise<ShardResult> {
    const counts = shardCounts(report);
    return this.db.transaction(() => {
      const scan = this.#readScan(report.scanId);
      if (scan === null) throw new Error(`unknown scan "${report.scanId}"`);
      const counted =
        this.db.run(
          "INSERT INTO scan_shards (scan_id, shard_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
          report.scanId,
          report.shardId,
        ) === 1;
      if (counted) {
        for (const [state, count] of counts) {
          const byState = scan.countsByState as Record<string, number>;
          byState[state] = (byState[state] ?? 0) + count;
        }
        scan.shardsDone += 1;
      }
      // The call that counts the last shard completes the scan, in the same transaction.
      const completed = scan.completedAt === null && scan.shardsDone >= scan.shards;
      if (completed) scan.completedAt = this.#now().toISOString();
      if (counted || completed) {
        this.db.run("UPDATE scans SET scan = ? WHERE scan_id = ?", JSON.stringify(scan), report.scanId);
      }
      return { counted, completed, scan };
    });
  }

  async getScan(scanId: string): Promise<ScanRecord | null> {
    return this.#readScan(scanId);
  }

  async listScans(range: TimeRange, options: PageOptions = {}): Promise<Page<ScanRecord>> {
    return this.#pageInRange<ScanRecord>("SELECT time_key AS key, scan AS value FROM scans", range, options);
  }
  #acknowledgements: SqliteAcknowledgements | undefined;
  #acks(): SqliteAcknowledgements {
    this.#acknowledgements ??= new SqliteAcknowledgements(this.db);
    return this.#acknowledgements;
  }

  async putAcknowledgement(ack: Acknowledgement): Promise<void> {
    this.#acks().put(ack);
  }

  async listAcknowledgements(endpoint?: string): Promise<Acknowledgement[]> {
    return this.#acks().list(endpoint);
  }

  async revokeAcknowledgements(endpoint: string, at: string, by: string): Promise<Acknowledgement[]> {
    return this.#acks().revoke(endpoint, at, by);
  }

  async markExpiryAlerted(ack: Acknowledgement, at: string): Promise<boolean> {
    return this.#acks().markExpiryAlerted(ack, at);
  }

  /**
   * Records the event of an acknowledgement's expiry and marks the acknowledgement, both or neither (as the
   * DynamoDB side's recordExpiryEvent); false when either was done already. The laptop cycle's recorder for
   * recordExpiryEvents (shared/alerts/ack-expiry.ts).
   */
  async recordExpiryEvent(ack: Acknowledgement, event: StateChangeEvent, at: string): Promise<boolean> {
    return this.db.transaction(() => {
      const recorded = this.db.get(
        "SELECT 1 AS found FROM events WHERE endpoint = ? AND event_key = ?",
        event.endpoint,
        `${event.at}#${event.eventId}`,
      );
      if (recorded !== undefined || !this.#acks().markExpiryAlerted(ack, at)) return false;
      return this.#endpoints.insertEvent(event);
    });
  }

  #readScan(scanId: string): ScanRecord | null {
    const row = this.db.get("SELECT scan FROM scans WHERE scan_id = ?", scanId);
    return row ? (JSON.parse(row.scan as string) as ScanRecord) : null;
  }

  // ---- paging -------------------------------------------------------------------------------------

  /** Rows whose time key ("<time>#...") falls in [from, to), oldest first (the DynamoDB BETWEEN bounds). */
  #pageInRange<T>(select: string, range: TimeRange, options: PageOptions): Page<T> {
    const bounds = timeRangeBounds(range);
    if (bounds === null) {
      pageSize(options); // the same checks of the options as a range with rows in it
      return { items: [] };
    }
    const { from, to } = bounds;
    return this.#page<T>(
      {
        sql: `${select} WHERE time_key BETWEEN ? AND ? AND time_key > ? ORDER BY time_key LIMIT ?`,
        params: [from, to],
      },
      options,
    );
  }

  /** One page; a cursor only when more rows follow (one row beyond the page is read to know). */
  #page<T>(query: PagedQuery, options: PageOptions): Page<T> {
    const limit = pageSize(options);
    const after = options.cursor ? decodeCursor<{ after?: unknown } | null>(options.cursor)?.after : "";
    if (typeof after !== "string") throw new Error("invalid page cursor");
    const rows: Row[] = this.db.all(query.sql, ...query.params, after, limit + 1);
    const items = rows.slice(0, limit).map((row) => decodeRecord(JSON.parse(row.value as string) as T & object));
    const last = rows[limit - 1];
    return rows.length > limit && last ? { items, cursor: encodeCursor({ after: last.key }) } : { items };
  }
}
