// The ExposureStore on one DynamoDB table (keys and access patterns: schema.ts, docs/readme-store.md).
// It runs in Lambda against DynamoDB, on a laptop with --table, and in the tests against DynamoDB Local;
// the laptop's own store is the embedded one (sqlite/), held to the same contract.
//
// Recording an observation is optimistic concurrency around the pure transition rules:
//   read the STATE item (consistent) -> decideTransition() -> write, conditional on the version read,
//   together with the event (TransactWriteItems, event put only if its key is new) -> on a condition
//   failure, start over from the read.
// An observation not newer than the record's lastObservedAt changes nothing, and event ids are derived
// from (endpoint, observedAt), so redeliveries, retries and racing writers yield at most one event.
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import type { Acknowledgement } from "../exposure/acknowledgement.ts";
import { formatEndpoint, type ProbeResult, type ScanRecord, type StateChangeEvent } from "../exposure/model.ts";
import { canonicalTime, decideTransition, type EndpointState } from "../exposure/transitions.ts";
import { decodeCursor, encodeCursor, MAX_PAGE_SIZE, nextDay, pageSize, timeRangeBounds, utcDay } from "./contract.ts";
import { bucketOf, openShardRecording, seenBucketOf, slotKeys } from "./digest.ts";
import { DynamoAcknowledgements } from "./dynamo-acks.ts";
import { DynamoDigestBackend, markInDigest } from "./dynamo-digest.ts";
import { DynamoScans } from "./dynamo-scans.ts";
import { eventFromItem, eventItem, type Item, stateFromItem, stateItem } from "./items.ts";
import { EXPOSED_PK, endpointPk, eventsDayPk, ipPk, ownerPk, STATE_SK, scansDayPk, TABLE_SCHEMA } from "./schema.ts";
import { withSeen } from "./seen.ts";
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
} from "./store.ts";

export interface DynamoStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The clock for scan start and completion times (observations carry their own time). */
  now?: () => Date;
  /** When set, events get a `ttl` this many days after their time (and scan records, unless scanRetentionDays). */
  retentionDays?: number;
  /** When set, scan records get a `ttl` this many days after their start. */
  scanRetentionDays?: number;
  /** How often to re-read and retry a write that lost a race (default 10). */
  maxAttempts?: number;
}

const { indexes } = TABLE_SCHEMA;

/** A write that lost a race: re-read and decide again. */
function isWriteConflict(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "ConditionalCheckFailedException" || error.name === "TransactionConflictException") {
    return true;
  }
  if (error.name !== "TransactionCanceledException") return false;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.every((reason) =>
    ["None", "ConditionalCheckFailed", "TransactionConflict"].includes(reason.Code ?? "None"),
  );
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class DynamoExposureStore implements ExposureStore {
  readonly tableName: string;
  readonly #client: DynamoDBDocumentClient;
  readonly #now: () => Date;
  readonly #retentionDays: number | undefined;
  readonly #maxAttempts: number;
  readonly #scans: DynamoScans;
  /** One for the store's life: it serializes this process's seen record updates (dynamo-digest.ts). */
  readonly #digestBackend: DynamoDigestBackend;

  constructor(options: DynamoStoreOptions) {
    this.#client = options.client;
    this.tableName = options.tableName;
    this.#now = options.now ?? (() => new Date());
    this.#retentionDays = options.retentionDays;
    this.#maxAttempts = options.maxAttempts ?? 10;
    const scanRetentionDays = options.scanRetentionDays ?? options.retentionDays;
    this.#scans = new DynamoScans({
      client: this.#client,
      tableName: this.tableName,
      now: this.#now,
      ...(scanRetentionDays !== undefined ? { retentionDays: scanRetentionDays } : {}),
    });
    this.#digestBackend = new DynamoDigestBackend({
      client: this.#client,
      tableName: this.tableName,
      ...(this.#retentionDays !== undefined ? { retentionDays: this.#retentionDays } : {}),
    });
  }

  // ---- observations -------------------------------------------------------------------------------

  async beginShard(endpoints: readonly string[], options: ShardRecordOptions = {}): Promise<ShardRecorder> {
    return openShardRecording(this.#digestBackend, endpoints, options);
  }

  /**
   * Records as returned to readers: lastObservedAt from the seen records too (seen.ts), whose groups name
   * an endpoint by its digest slot (digest.ts slotKeys) or, written before slots, by its hash. Two
   * consistent batch reads, so a report made after a scan completed has that scan's times.
   */
  async #withSeen(states: EndpointState[]): Promise<EndpointState[]> {
    if (states.length === 0) return states;
    const backend = this.#digestBackend;
    const [digests, seen] = await Promise.all([
      backend.readDigests([...new Set(states.map((state) => bucketOf(state.endpoint)))]),
      backend.readSeen([...new Set(states.map((state) => seenBucketOf(state.endpoint)))], true),
    ]);
    const keyOf = slotKeys(digests);
    return states.map((state) => {
      const groups = seen.get(seenBucketOf(state.endpoint))?.groups;
      return withSeen(withSeen(state, groups, keyOf), groups);
    });
  }

  async #withSeenPage(page: Page<EndpointState>): Promise<Page<EndpointState>> {
    return { ...page, items: await this.#withSeen(page.items) };
  }

  async recordObservation(result: ProbeResult, options: RecordOptions = {}): Promise<RecordResult> {
    for (let attempt = 1; ; attempt++) {
      const recorded = await this.#readRecord(formatEndpoint(result.ip, result.port));
      const decision = decideTransition(recorded, result, options);
      if (decision.next === null) return { outcome: decision.outcome, state: recorded };
      try {
        // A write outside a shard: no digest may vouch for this endpoint meanwhile (dynamo-digest.ts).
        if (attempt === 1) await markInDigest(this.#client, this.tableName, decision.next.endpoint);
        await this.#writeTransition(recorded, decision.next, decision.event);
        return {
          outcome: decision.outcome,
          ...(decision.event ? { event: decision.event } : {}),
          state: decision.next,
        };
      } catch (error) {
        if (!isWriteConflict(error) || attempt >= this.#maxAttempts) throw error;
        // Someone else wrote this endpoint between our read and write; back off a little and decide again.
        await pause(Math.random() * 20 * attempt);
      }
    }
  }

  async #writeTransition(recorded: EndpointState | null, next: EndpointState, event: StateChangeEvent | null) {
    const statePut = {
      TableName: this.tableName,
      Item: stateItem(next),
      ...(recorded === null
        ? { ConditionExpression: "attribute_not_exists(PK)" }
        : {
            ConditionExpression: "#version = :version",
            ExpressionAttributeNames: { "#version": "version" },
            ExpressionAttributeValues: { ":version": recorded.version },
          }),
    };
    if (event === null) {
      await this.#client.send(new PutCommand(statePut));
      return;
    }
    // No ClientRequestToken on purpose: with one, racing writers of the same change would all be told
    // "success" and each report the event. Without it exactly one caller gets the event; if an SDK retry
    // follows a lost response, the event is still recorded (and streamed) but this call reports "duplicate".
    await this.#client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: statePut },
          {
            Put: {
              TableName: this.tableName,
              Item: eventItem(event, this.#retentionDays),
              ConditionExpression: "attribute_not_exists(PK)",
            },
          },
        ],
      }),
    );
  }

  // ---- endpoint reads -----------------------------------------------------------------------------

  async getEndpoint(endpoint: string): Promise<EndpointState | null> {
    const state = await this.#readRecord(endpoint);
    return state === null ? null : ((await this.#withSeen([state]))[0] ?? null);
  }

  /** The STATE item as written (what recording decides against). */
  async #readRecord(endpoint: string): Promise<EndpointState | null> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { PK: endpointPk(endpoint), SK: STATE_SK },
        ConsistentRead: true,
      }),
    );
    return Item ? stateFromItem(Item) : null;
  }

  async endpointsOfIp(ip: string): Promise<EndpointState[]> {
    const states: EndpointState[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#queryPage(
        {
          IndexName: indexes.byIp.name,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": indexes.byIp.partitionKey },
          ExpressionAttributeValues: { ":pk": ipPk(ip) },
        },
        { limit: MAX_PAGE_SIZE, ...(cursor ? { cursor } : {}) },
        stateFromItem,
      );
      states.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return this.#withSeen(states);
  }

  async history(endpoint: string, options: Partial<TimeRange> & PageOptions = {}): Promise<Page<StateChangeEvent>> {
    const from = options.from ? canonicalTime(options.from) : "";
    // "EVENT#<to>" sorts before every "EVENT#<to>#id", so `to` is exclusive; "~" sorts after any time.
    const to = options.to ? canonicalTime(options.to) : "~";
    return this.#queryPage(
      {
        KeyConditionExpression: "PK = :pk AND SK BETWEEN :from AND :to",
        ExpressionAttributeValues: {
          ":pk": endpointPk(endpoint),
          ":from": `${TABLE_SCHEMA.eventSortKeyPrefix}${from}`,
          ":to": `${TABLE_SCHEMA.eventSortKeyPrefix}${to}`,
        },
        ConsistentRead: true,
      },
      options,
      eventFromItem,
    );
  }

  async listExposed(options: PageOptions = {}): Promise<Page<EndpointState>> {
    const page = await this.#queryPage(
      {
        IndexName: indexes.exposed.name,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": indexes.exposed.partitionKey },
        ExpressionAttributeValues: { ":pk": EXPOSED_PK },
      },
      options,
      stateFromItem,
    );
    return this.#withSeenPage(page);
  }

  async endpointsByOwner(
    accountId: string,
    options: { resourceId?: string } & PageOptions = {},
  ): Promise<Page<EndpointState>> {
    const byResource = options.resourceId !== undefined;
    const page = await this.#queryPage(
      {
        IndexName: indexes.byOwner.name,
        KeyConditionExpression: byResource ? "#pk = :pk AND begins_with(#sk, :resource)" : "#pk = :pk",
        ExpressionAttributeNames: {
          "#pk": indexes.byOwner.partitionKey,
          ...(byResource ? { "#sk": indexes.byOwner.sortKey } : {}),
        },
        ExpressionAttributeValues: {
          ":pk": ownerPk(accountId),
          ...(byResource ? { ":resource": `${options.resourceId}#` } : {}),
        },
      },
      options,
      stateFromItem,
    );
    return this.#withSeenPage(page);
  }

  async eventsBetween(range: TimeRange, options: PageOptions = {}): Promise<Page<StateChangeEvent>> {
    return this.#queryDays(eventsDayPk, range, options, eventFromItem);
  }

  // ---- scans --------------------------------------------------------------------------------------

  startScan(start: ScanStart): Promise<{ created: boolean; scan: ScanRecord }> {
    return this.#scans.startScan(start);
  }

  recordShard(report: ShardReport): Promise<ShardResult> {
    return this.#scans.recordShard(report);
  }

  getScan(scanId: string): Promise<ScanRecord | null> {
    return this.#scans.getScan(scanId);
  }

  async listScans(range: TimeRange, options: PageOptions = {}): Promise<Page<ScanRecord>> {
    const page = await this.#queryDays(scansDayPk, range, options, (item) => item);
    return { ...page, items: await this.#scans.withProgress(page.items) };
  }
  #acks(): DynamoAcknowledgements {
    return new DynamoAcknowledgements({ client: this.#client, tableName: this.tableName });
  }

  async putAcknowledgement(ack: Acknowledgement): Promise<void> {
    await this.#acks().put(ack);
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

  // ---- paging -------------------------------------------------------------------------------------

  async #queryPage<T>(
    input: Omit<QueryCommandInput, "TableName">,
    options: PageOptions,
    decode: (item: Item) => T,
  ): Promise<Page<T>> {
    const output = await this.#client.send(
      new QueryCommand({
        ...input,
        TableName: this.tableName,
        Limit: pageSize(options),
        ...(options.cursor ? { ExclusiveStartKey: decodeCursor<Item>(options.cursor) } : {}),
      }),
    );
    return {
      items: (output.Items ?? []).map(decode),
      ...(output.LastEvaluatedKey ? { cursor: encodeCursor(output.LastEvaluatedKey) } : {}),
    };
  }

  /** Reads the day-bucket index (GSI2) across the UTC days of a range, oldest first. */
  async #queryDays<T>(
    bucket: (day: string) => string,
    range: TimeRange,
    options: PageOptions,
    decode: (item: Item) => T,
  ): Promise<Page<T>> {
    const limit = pageSize(options);
    const bounds = timeRangeBounds(range);
    if (bounds === null) return { items: [] };
    const { from, to } = bounds;
    const lastDay = utcDay(new Date(Date.parse(to) - 1).toISOString());
    const position = options.cursor ? decodeCursor<{ day: string; key?: Item }>(options.cursor) : { day: utcDay(from) };
    let day = position.day;
    let startKey = position.key;
    const items: T[] = [];
    while (day <= lastDay) {
      const output = await this.#client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: indexes.byDay.name,
          // The sort key starts with the time, so "<to>#..." sorts after "<to>": BETWEEN is [from, to).
          KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
          ExpressionAttributeNames: { "#pk": indexes.byDay.partitionKey, "#sk": indexes.byDay.sortKey },
          ExpressionAttributeValues: { ":pk": bucket(day), ":from": from, ":to": to },
          Limit: limit - items.length,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of output.Items ?? []) items.push(decode(item));
      startKey = output.LastEvaluatedKey;
      if (startKey === undefined) day = nextDay(day);
      if (items.length >= limit) {
        return day <= lastDay
          ? { items, cursor: encodeCursor({ day, ...(startKey ? { key: startKey } : {}) }) }
          : { items };
      }
    }
    return { items };
  }
}
