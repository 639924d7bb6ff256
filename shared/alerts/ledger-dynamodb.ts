// The delivery ledger in the monitor's DynamoDB table, for the notify function: a DynamoDB stream
// may hand the same event over more than once (retries, bisected batches), and the ledger makes
// each (alert, channel) delivery happen once. Items:
//   PK = DELIVERY#<alertId>|<channel>   SK = DELIVERED   type = "delivery"   at   ttl
// `type` is not "event", so the stream filter of the notify function ignores these writes. The
// ttl outlives the stream's 24-hour retention by far, so any redelivery still finds its mark.
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { DeliveryLedger } from "./deliver.ts";

export const DELIVERY_SK = "DELIVERED";
export const deliveryPk = (key: string) => `DELIVERY#${key}`;

export interface DynamoDeliveryLedgerOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** How long a mark is kept (default 30 days). */
  retentionDays?: number;
  now?: () => Date;
}

export class DynamoDeliveryLedger implements DeliveryLedger {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #retentionSeconds: number;
  readonly #now: () => Date;

  constructor(options: DynamoDeliveryLedgerOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#retentionSeconds = (options.retentionDays ?? 30) * 86_400;
    this.#now = options.now ?? (() => new Date());
  }

  async has(key: string): Promise<boolean> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: { PK: deliveryPk(key), SK: DELIVERY_SK },
        ConsistentRead: true,
        ProjectionExpression: "PK",
      }),
    );
    return Item !== undefined;
  }

  /** A plain put: marking twice is harmless, so no condition (and no failure) on a second mark. */
  async mark(key: string): Promise<void> {
    const now = this.#now();
    await this.#client.send(
      new PutCommand({
        TableName: this.#tableName,
        Item: {
          PK: deliveryPk(key),
          SK: DELIVERY_SK,
          type: "delivery",
          at: now.toISOString(),
          ttl: Math.floor(now.getTime() / 1000) + this.#retentionSeconds,
        },
      }),
    );
  }
}
