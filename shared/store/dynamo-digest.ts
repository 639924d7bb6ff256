// The DynamoDB side of digests (digest.ts): digest items read with BatchGetItem (consistent, 100 keys a
// request), written with a condition on their `rev`; STATE items read the same way; transitions written
// conditional on the version read, returning the item that won a race (ReturnValuesOnConditionCheckFailure).
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
import { bucketOf, type Digest, type DigestBackend, decodeEntries, encodeEntries } from "./digest.ts";
import { eventItem, type Item, stateFromItem, stateItem } from "./items.ts";
import { DIGEST_SK, digestPk, endpointPk, ITEM_TYPE, SEEN_SK, STATE_SK, seenPk } from "./schema.ts";
import { packHashes, type Seen, unpackHashes } from "./seen.ts";

export interface DynamoDigestOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** As DynamoStoreOptions.retentionDays: the ttl of event items. */
  retentionDays?: number;
}

const BATCH_GET_KEYS = 100;

export class DynamoDigestBackend implements DigestBackend {
  readonly #options: DynamoDigestOptions;

  constructor(options: DynamoDigestOptions) {
    this.#options = options;
  }

  async #batchGet(keys: { PK: string; SK: string }[]): Promise<Item[]> {
    const { client, tableName } = this.#options;
    const items: Item[] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
      let pending: { PK: string; SK: string }[] | undefined = keys.slice(i, i + BATCH_GET_KEYS);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));
        const output = await client.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        items.push(...(output.Responses?.[tableName] ?? []));
        pending = output.UnprocessedKeys?.[tableName]?.Keys as { PK: string; SK: string }[] | undefined;
      }
    }
    return items;
  }

  async readDigests(buckets: readonly number[]): Promise<Map<number, Digest>> {
    const items = await this.#batchGet(buckets.map((bucket) => ({ PK: digestPk(bucket), SK: DIGEST_SK })));
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

  async readSeen(buckets: readonly number[]): Promise<Map<number, Seen>> {
    const items = await this.#batchGet(buckets.map((bucket) => ({ PK: seenPk(bucket), SK: SEEN_SK })));
    const seen = new Map<number, Seen>();
    for (const item of items) {
      const groups = (item.g as { s: string; t: string; h: Uint8Array }[] | undefined) ?? [];
      seen.set(Number.parseInt(String(item.PK).slice("SEEN#".length), 16), {
        rev: Number(item.rev ?? 0),
        groups: groups.map((group) => ({ scanId: group.s, at: group.t, hashes: unpackHashes(group.h) })),
      });
    }
    return seen;
  }

  async writeSeen(bucket: number, seen: Seen, expectedRev: number): Promise<boolean> {
    return this.#putRevised(
      {
        PK: seenPk(bucket),
        SK: SEEN_SK,
        type: ITEM_TYPE.seen,
        rev: seen.rev,
        g: seen.groups.map((group) => ({ s: group.scanId, t: group.at, h: packHashes(group.hashes) })),
      },
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
