// Acknowledgements in the DynamoDB table: one item each under the partition `ACK`, sort key
// `<endpoint>#<createdAt>#<id>` (docs/readme-store.md). They are few (people make them), so a listing
// is one Query of that partition, paged to the end. The stream filter passes only events, so these
// items never reach the notify function; the event an expiry records does (recordExpiryEvent).
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type Acknowledgement, isActiveAt } from "../exposure/acknowledgement.ts";
import type { StateChangeEvent } from "../exposure/model.ts";
import { eventItem } from "./items.ts";

export const ACK_PK = "ACK";

const sortKey = (ack: Pick<Acknowledgement, "endpoint" | "createdAt" | "id">) =>
  `${ack.endpoint}#${ack.createdAt}#${ack.id}`;

function fromItem(item: Record<string, unknown>): Acknowledgement {
  return {
    id: String(item.id),
    endpoint: String(item.endpoint),
    reason: String(item.reason),
    author: String(item.author),
    createdAt: String(item.createdAt),
    until: String(item.until),
    revokedAt: typeof item.revokedAt === "string" ? item.revokedAt : null,
    revokedBy: typeof item.revokedBy === "string" ? item.revokedBy : null,
    expiryAlertedAt: typeof item.expiryAlertedAt === "string" ? item.expiryAlertedAt : null,
  };
}

const isConditionFailure = (error: unknown) =>
  error instanceof Error && error.name === "ConditionalCheckFailedException";

export class DynamoAcknowledgements {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  readonly #retentionDays: number | undefined;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string; retentionDays?: number }) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#retentionDays = options.retentionDays;
  }

  async put(ack: Acknowledgement): Promise<void> {
    await this.#client.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          PK: ACK_PK,
          SK: sortKey(ack),
          type: "ack",
          ...ack,
          revokedAt: ack.revokedAt ?? undefined,
          revokedBy: ack.revokedBy ?? undefined,
          expiryAlertedAt: ack.expiryAlertedAt ?? undefined,
        },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
  }

  async list(endpoint?: string): Promise<Acknowledgement[]> {
    const acks: Acknowledgement[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: endpoint === undefined ? "PK = :pk" : "PK = :pk AND begins_with(SK, :prefix)",
          ExpressionAttributeValues: {
            ":pk": ACK_PK,
            ...(endpoint === undefined ? {} : { ":prefix": `${endpoint}#` }),
          },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      acks.push(...(page.Items ?? []).map(fromItem));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return acks.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  async revoke(endpoint: string, at: string, by: string): Promise<Acknowledgement[]> {
    const revoked: Acknowledgement[] = [];
    for (const ack of await this.list(endpoint)) {
      if (!isActiveAt(ack, at)) continue;
      try {
        await this.#client.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: { PK: ACK_PK, SK: sortKey(ack) },
            UpdateExpression: "SET revokedAt = :at, revokedBy = :by",
            ConditionExpression: "attribute_not_exists(revokedAt)",
            ExpressionAttributeValues: { ":at": at, ":by": by },
          }),
        );
        revoked.push({ ...ack, revokedAt: at, revokedBy: by });
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return revoked;
  }

  /** The acknowledgement's expiry mark: set once, on an acknowledgement that exists. */
  #expiryMark(ack: Acknowledgement, at: string) {
    return {
      TableName: this.#table,
      Key: { PK: ACK_PK, SK: sortKey(ack) },
      UpdateExpression: "SET expiryAlertedAt = :at",
      ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(expiryAlertedAt)",
      ExpressionAttributeValues: { ":at": at },
    };
  }

  async markExpiryAlerted(ack: Acknowledgement, at: string): Promise<boolean> {
    try {
      await this.#client.send(new UpdateCommand(this.#expiryMark(ack, at)));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Writes the expiry's event item (an event like any other: the stream hands it to notify) and marks the
   * acknowledgement, in one transaction: both or neither, and only once (false when already done).
   */
  async recordExpiryEvent(ack: Acknowledgement, event: StateChangeEvent, at: string): Promise<boolean> {
    try {
      await this.#client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#table,
                Item: eventItem(event, this.#retentionDays),
                ConditionExpression: "attribute_not_exists(PK)",
              },
            },
            { Update: this.#expiryMark(ack, at) },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "TransactionCanceledException") {
        const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
        if (reasons.some((reason) => reason.Code === "ConditionalCheckFailed")) return false;
      }
      throw error;
    }
  }
}
