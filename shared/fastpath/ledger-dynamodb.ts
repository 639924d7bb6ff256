// The fast path's ledger (ledger.ts) in the monitor's table. Items (docs/fastpath.md):
//   claim      PK = FASTPATH#<key>      SK = CLAIM     ttl   (conditional put: absent, or its ttl passed)
//   tombstone  PK = FASTPATH#<key>      SK = STOP      at, ttl
//   armed      PK = FASTPATH#ARMED      SK = <endpoint> target, ttl   (one small partition: Query, no Scan)
// `type` is never "event", so the notify stream filter ignores these writes. DynamoDB deletes expired
// items lazily, so every read compares `ttl` with the clock itself.
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import type { Target } from "../exposure/model.ts";
import { formatEndpoint } from "../exposure/model.ts";
import type { FastPathLedger } from "./ledger.ts";

const pk = (key: string) => `FASTPATH#${key}`;
const ARMED_PK = "FASTPATH#ARMED";

export interface DynamoFastPathLedgerOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  now?: () => number;
}

export class DynamoFastPathLedger implements FastPathLedger {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => number;

  constructor(options: DynamoFastPathLedgerOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#now = options.now ?? Date.now;
  }

  #epoch(): number {
    return Math.floor(this.#now() / 1000);
  }

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    const now = this.#epoch();
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { PK: pk(key), SK: "CLAIM", type: "fastpath-claim", ttl: now + ttlSeconds },
          ConditionExpression: "attribute_not_exists(PK) OR #ttl <= :now",
          ExpressionAttributeNames: { "#ttl": "ttl" },
          ExpressionAttributeValues: { ":now": now },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }

  async release(key: string): Promise<void> {
    await this.#client.send(new DeleteCommand({ TableName: this.#table, Key: { PK: pk(key), SK: "CLAIM" } }));
  }

  async stop(keys: readonly string[], at: Date, ttlSeconds: number): Promise<void> {
    const ttl = this.#epoch() + ttlSeconds;
    for (let i = 0; i < keys.length; i += 25) {
      const chunk = keys.slice(i, i + 25);
      let requests: Record<string, unknown>[] | undefined = chunk.map((key) => ({
        PutRequest: { Item: { PK: pk(key), SK: "STOP", type: "fastpath-stop", at: at.toISOString(), ttl } },
      }));
      for (let attempt = 0; requests !== undefined && requests.length > 0; attempt++) {
        if (attempt > 5) throw new Error("tombstones not written: unprocessed items after retries");
        const output = await this.#client.send(
          new BatchWriteCommand({ RequestItems: { [this.#table]: requests as never } }),
        );
        requests = output.UnprocessedItems?.[this.#table] as Record<string, unknown>[] | undefined;
        if (requests?.length) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
  }

  async stoppedSince(keys: readonly string[], since: Date): Promise<boolean> {
    if (keys.length === 0) return false;
    const now = this.#epoch();
    const output = await this.#client.send(
      new BatchGetCommand({
        RequestItems: {
          [this.#table]: {
            Keys: [...new Set(keys)].slice(0, 100).map((key) => ({ PK: pk(key), SK: "STOP" })),
            ConsistentRead: true,
          },
        },
      }),
    );
    if (Object.keys(output.UnprocessedKeys ?? {}).length > 0) {
      // Unread tombstones: better to skip one probe (the sweep stays) than to probe someone else's address.
      return true;
    }
    return (output.Responses?.[this.#table] ?? []).some(
      (item) => Number(item.ttl) > now && Date.parse(String(item.at)) >= since.getTime(),
    );
  }

  async arm(target: Target, ttlSeconds: number): Promise<void> {
    await this.#client.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          PK: ARMED_PK,
          SK: formatEndpoint(target.host, target.port),
          type: "fastpath-armed",
          target,
          ttl: this.#epoch() + ttlSeconds,
        },
      }),
    );
  }

  async disarm(endpoint: string): Promise<void> {
    await this.#client.send(new DeleteCommand({ TableName: this.#table, Key: { PK: ARMED_PK, SK: endpoint } }));
  }

  async armed(): Promise<Target[]> {
    const now = this.#epoch();
    const targets: Target[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "PK = :pk",
          ExpressionAttributeValues: { ":pk": ARMED_PK },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) if (Number(item.ttl) > now) targets.push(item.target as Target);
      cursor = page.LastEvaluatedKey;
    } while (cursor !== undefined);
    return targets;
  }
}
