// The DynamoDB side of digests (digest.ts): digest items read with BatchGetItem (consistent, 100 keys a
// request), written with a condition on their `rev`; STATE items read the same way; transitions written
// conditional on the version read, returning the item that won a race (ReturnValuesOnConditionCheckFailure).
// Seen records (seen.ts) keep each group as a bitmap of digest slots per digest bucket (a few bytes per
// endpoint-bucket instead of 5 per endpoint), so one is a small item, a write unit at 100,000 endpoints.
// Their updates are serialized per bucket within the process, on the record this process last wrote: the
// shards of one invocation that share a bucket neither re-read it nor lose a race to each other.
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { StateChangeEvent } from "../exposure/model.ts";
import type { EndpointState } from "../exposure/transitions.ts";
import {
  bucketOf,
  type Digest,
  type DigestBackend,
  decodeEntries,
  encodeEntries,
  MAX_ATTEMPTS,
  pool,
  WRITE_CONCURRENCY,
} from "./digest.ts";
import { eventItem, type Item, stateFromItem, stateItem } from "./items.ts";
import { DIGEST_SK, digestPk, endpointPk, ITEM_TYPE, SEEN_SK, STATE_SK, seenPk } from "./schema.ts";
import { packHashes, type Seen, type SeenGroup, unpackHashes } from "./seen.ts";

export interface DynamoDigestOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** As DynamoStoreOptions.retentionDays: the ttl of event items. */
  retentionDays?: number;
}

const BATCH_GET_KEYS = 100;

/** How long this process trusts the seen record it last wrote or read (a stale one costs a failed write and a read). */
const SEEN_CACHE_MS = 60_000;

/** Slot keys ("<digest bucket>:<slot>", digest.ts slotKeys) as bitmaps: per digest bucket, u16 bucket, u16 length, bits. */
export function packSlots(keys: Iterable<string>): Uint8Array {
  const byBucket = new Map<number, number[]>();
  for (const key of keys) {
    const [bucket, slot] = key.split(":").map(Number) as [number, number];
    byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), slot]);
  }
  const parts: Buffer[] = [];
  for (const [bucket, slots] of [...byBucket].sort((a, b) => a[0] - b[0])) {
    const bits = Buffer.alloc(Math.floor(Math.max(...slots) / 8) + 1);
    if (bits.length > 0xffff) throw new RangeError(`digest bucket ${bucket} has more slots than a seen bitmap holds`);
    for (const slot of slots) bits[slot >> 3] = (bits[slot >> 3] ?? 0) | (1 << (slot & 7));
    const head = Buffer.alloc(4);
    head.writeUInt16BE(bucket, 0);
    head.writeUInt16BE(bits.length, 2);
    parts.push(head, bits);
  }
  return Buffer.concat(parts);
}

export function unpackSlots(bytes: Uint8Array): Set<string> {
  const buffer = Buffer.from(bytes);
  const keys = new Set<string>();
  for (let at = 0; at + 4 <= buffer.length; ) {
    const bucket = buffer.readUInt16BE(at);
    const length = buffer.readUInt16BE(at + 2);
    for (let i = 0; i < length * 8 && at + 4 + (i >> 3) < buffer.length; i++) {
      if ((buffer[at + 4 + (i >> 3)]! >> (i & 7)) & 1) keys.add(`${bucket}:${i}`);
    }
    at += 4 + length;
  }
  return keys;
}

/** A seen group as stored: slot keys as bitmaps (`b`), keys of a record from before slots as 5-byte hashes (`h`). */
function groupItem(group: SeenGroup): Record<string, unknown> {
  const slots = [...group.hashes].filter((key) => key.includes(":"));
  const hashes = new Set([...group.hashes].filter((key) => !key.includes(":")));
  return {
    s: group.scanId,
    t: group.at,
    ...(slots.length > 0 ? { b: packSlots(slots) } : {}),
    ...(hashes.size > 0 ? { h: packHashes(hashes) } : {}),
  };
}

function groupFromItem(item: { s: string; t: string; b?: Uint8Array; h?: Uint8Array }): SeenGroup {
  return {
    scanId: item.s,
    at: item.t,
    hashes: new Set([...(item.b ? unpackSlots(item.b) : []), ...(item.h ? unpackHashes(item.h) : [])]),
  };
}

export class DynamoDigestBackend implements DigestBackend {
  readonly #options: DynamoDigestOptions;
  /** The seen record this process last wrote or read, per bucket, and when. */
  readonly #seen = new Map<number, { seen: Seen; at: number }>();
  /** The update of a bucket's seen record in progress in this process. */
  readonly #seenLocks = new Map<number, Promise<void>>();

  constructor(options: DynamoDigestOptions) {
    this.#options = options;
  }

  async #batchGet(keys: { PK: string; SK: string }[], consistent = true): Promise<Item[]> {
    const { client, tableName } = this.#options;
    const items: Item[] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
      let pending: { PK: string; SK: string }[] | undefined = keys.slice(i, i + BATCH_GET_KEYS);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));
        const output = await client.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: consistent } } }),
        );
        items.push(...(output.Responses?.[tableName] ?? []));
        pending = output.UnprocessedKeys?.[tableName]?.Keys as { PK: string; SK: string }[] | undefined;
      }
    }
    return items;
  }

  async readDigests(buckets: readonly number[], consistent = true): Promise<Map<number, Digest>> {
    const items = await this.#batchGet(
      buckets.map((bucket) => ({ PK: digestPk(bucket), SK: DIGEST_SK })),
      consistent,
    );
    const digests = new Map<number, Digest>();
    for (const item of items) {
      const bucket = Number.parseInt(String(item.PK).slice("DIGEST#".length), 16);
      digests.set(bucket, {
        rev: Number(item.rev ?? 0),
        entries: decodeEntries(String(item.e ?? "")),
        marks: new Map(Object.entries((item.d as Record<string, string> | undefined) ?? {})),
      });
    }
    return digests;
  }

  async writeDigest(bucket: number, digest: Digest, expectedRev: number): Promise<boolean> {
    return this.#putRevised(
      {
        PK: digestPk(bucket),
        SK: DIGEST_SK,
        type: ITEM_TYPE.digest,
        rev: digest.rev,
        e: encodeEntries(digest.entries),
        d: Object.fromEntries(digest.marks),
      },
      expectedRev,
    );
  }

  /** Puts a revisioned item (digest or seen) only over the revision read (0: only if absent); false when it lost the race. */
  async #putRevised(item: Record<string, unknown>, expectedRev: number): Promise<boolean> {
    const { client, tableName } = this.#options;
    try {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: item,
          ...(expectedRev === 0
            ? { ConditionExpression: "attribute_not_exists(PK)" }
            : { ConditionExpression: "rev = :rev", ExpressionAttributeValues: { ":rev": expectedRev } }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }

  /** Eventually consistent unless asked: a writer's first read (its write is conditional on the rev read). */
  async readSeen(buckets: readonly number[], consistent = false): Promise<Map<number, Seen>> {
    const items = await this.#batchGet(
      buckets.map((bucket) => ({ PK: seenPk(bucket), SK: SEEN_SK })),
      consistent,
    );
    const seen = new Map<number, Seen>();
    for (const item of items) {
      const groups = (item.g as { s: string; t: string; b?: Uint8Array; h?: Uint8Array }[] | undefined) ?? [];
      seen.set(Number.parseInt(String(item.PK).slice("SEEN#".length), 16), {
        rev: Number(item.rev ?? 0),
        groups: groups.map(groupFromItem),
      });
    }
    return seen;
  }

  async updateSeen(updates: Map<number, (groups: readonly SeenGroup[]) => SeenGroup[]>): Promise<void> {
    const known = (bucket: number) => {
      const cached = this.#seen.get(bucket);
      return cached !== undefined && Date.now() - cached.at < SEEN_CACHE_MS;
    };
    // One batch read of the records neither known nor being written here (that writer leaves them known).
    const unknown = [...updates.keys()].filter((bucket) => !known(bucket) && !this.#seenLocks.has(bucket));
    if (unknown.length > 0) {
      const read = await this.readSeen(unknown);
      for (const bucket of unknown) {
        if (!known(bucket))
          this.#seen.set(bucket, { seen: read.get(bucket) ?? { rev: 0, groups: [] }, at: Date.now() });
      }
    }
    await pool([...updates], WRITE_CONCURRENCY, ([bucket, update]) =>
      this.#locked(bucket, async () => {
        let seen = (known(bucket) ? this.#seen.get(bucket)?.seen : undefined) ?? (await this.#readSeenNow(bucket));
        for (let attempt = 1; ; attempt++) {
          const next = { rev: seen.rev + 1, groups: update(seen.groups) };
          if (await this.#writeSeen(bucket, next, seen.rev)) {
            this.#seen.set(bucket, { seen: next, at: Date.now() });
            return;
          }
          if (attempt >= MAX_ATTEMPTS) throw new Error(`seen record ${bucket} kept changing; giving up`);
          seen = await this.#readSeenNow(bucket);
        }
      }),
    );
  }

  async #readSeenNow(bucket: number): Promise<Seen> {
    const seen = (await this.readSeen([bucket], true)).get(bucket) ?? { rev: 0, groups: [] };
    this.#seen.set(bucket, { seen, at: Date.now() });
    return seen;
  }

  /** Runs `work` after every earlier update of the bucket's seen record in this process. */
  async #locked(bucket: number, work: () => Promise<void>): Promise<void> {
    const run = (this.#seenLocks.get(bucket) ?? Promise.resolve()).then(work);
    const tail = run.catch(() => undefined);
    this.#seenLocks.set(bucket, tail);
    try {
      await run;
    } finally {
      if (this.#seenLocks.get(bucket) === tail) this.#seenLocks.delete(bucket);
    }
  }

  async #writeSeen(bucket: number, seen: Seen, expectedRev: number): Promise<boolean> {
    return this.#putRevised(
      { PK: seenPk(bucket), SK: SEEN_SK, type: ITEM_TYPE.seen, rev: seen.rev, g: seen.groups.map(groupItem) },
      expectedRev,
    );
  }

  async readStates(endpoints: readonly string[]): Promise<Map<string, EndpointState>> {
    const items = await this.#batchGet(endpoints.map((endpoint) => ({ PK: endpointPk(endpoint), SK: STATE_SK })));
    const states = new Map<string, EndpointState>();
    for (const item of items) {
      const state = stateFromItem(item);
      states.set(state.endpoint, state);
    }
    return states;
  }

  async writeTransition(
    recorded: EndpointState | null,
    next: EndpointState,
    event: StateChangeEvent | null,
  ): Promise<{ written: true } | { written: false; current?: EndpointState | null }> {
    const { client, tableName } = this.#options;
    const statePut = {
      TableName: tableName,
      Item: stateItem(next),
      ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
      ...(recorded === null
        ? { ConditionExpression: "attribute_not_exists(PK)" }
        : {
            ConditionExpression: "#version = :version",
            ExpressionAttributeNames: { "#version": "version" },
            ExpressionAttributeValues: { ":version": recorded.version },
          }),
    };
    try {
      if (event === null) {
        await client.send(new PutCommand(statePut));
      } else {
        // As in recordObservation: no ClientRequestToken, so racing writers of one change get one event.
        await client.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: statePut },
              {
                Put: {
                  TableName: tableName,
                  Item: eventItem(event, this.#options.retentionDays),
                  ConditionExpression: "attribute_not_exists(PK)",
                },
              },
            ],
          }),
        );
      }
      return { written: true };
    } catch (error) {
      return { written: false, current: this.#lostRace(error) };
    }
  }

  /** The record that won, when DynamoDB returned it; undefined: read it again. Rethrows anything else. */
  #lostRace(error: unknown): EndpointState | null | undefined {
    if (!(error instanceof Error)) throw error;
    const returned = (item: unknown) =>
      item === undefined ? undefined : stateFromItem(unmarshall(item as Record<string, AttributeValue>));
    if (error.name === "ConditionalCheckFailedException") return returned((error as { Item?: unknown }).Item);
    if (error.name === "TransactionConflictException") return undefined;
    if (error.name !== "TransactionCanceledException") throw error;
    const reasons = (error as { CancellationReasons?: { Code?: string; Item?: unknown }[] }).CancellationReasons ?? [];
    if (!reasons.every((r) => ["None", "ConditionalCheckFailed", "TransactionConflict"].includes(r.Code ?? "None"))) {
      throw error;
    }
    return reasons[0]?.Code === "ConditionalCheckFailed" ? returned(reasons[0].Item) : undefined;
  }
}

/**
 * Marks an endpoint in its digest before a write outside a shard (recordObservation), so that no reader
 * trusts the digest's entry for it; the mark expires (digest.ts MARK_EXPIRY_MS). No digest: nothing to do.
 */
export async function markInDigest(client: DynamoDBDocumentClient, tableName: string, endpoint: string) {
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { PK: digestPk(bucketOf(endpoint)), SK: DIGEST_SK },
        UpdateExpression: "SET d.#endpoint = :mark ADD rev :one",
        ConditionExpression: "attribute_exists(PK)",
        ExpressionAttributeNames: { "#endpoint": endpoint },
        ExpressionAttributeValues: { ":mark": `single@${Date.now()}`, ":one": 1 },
      }),
    );
  } catch (error) {
    if (!(error instanceof Error) || error.name !== "ConditionalCheckFailedException") throw error;
  }
}
