// The retry queue of the notify function (docs/readme-alerts.md, "Delivery guarantees"): a channel that failed (or ran
// out of the delivery budget) gets the whole alert from an SQS FIFO queue, not a pointer to a stream record
// that expires. One message per alert, naming the channels still owed; its group is the endpoint, so a
// later alert of the endpoint queued behind it is delivered after it. The owed set (in the table) records,
// per endpoint and channel, the alerts still queued: while it is not empty, a later alert of that endpoint
// goes to the queue for that channel too instead of overtaking (a `resolved` never arrives first).
// Adding to and removing from a DynamoDB string set are both idempotent, so redeliveries cannot skew it.
import { createHash } from "node:crypto";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type StateChangeEvent, withProtocol } from "../exposure/model.ts";
import type { Alert } from "./alert.ts";
import type { AlertDeliverer, DeliveryLedger, DeliveryReport } from "./deliver.ts";
import { deliverAll } from "./deliver.ts";
import { deliverEventAlerts, type EventDeliverOptions, type EventDeliveryReport } from "./notify.ts";

/** A queued alert and the channels (deliverer names) it still lacks. */
export interface RetryMessage {
  alert: Alert;
  channels: string[];
}

export function encodeRetryMessage(message: RetryMessage): string {
  return JSON.stringify({ v: 1, alert: message.alert, channels: message.channels });
}

/** Throws with one line when the body is not a retry message (a message from elsewhere goes to the DLQ). */
export function decodeRetryMessage(body: string): RetryMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error("retry message is not JSON");
  }
  const m = parsed as { v?: unknown; alert?: Partial<Alert> & { target?: unknown }; channels?: unknown };
  // A message queued by an earlier version names the endpoint `target` and keeps the facts at `current.server`.
  if (m?.alert && m.alert.endpoint === undefined && typeof m.alert.target === "string") {
    const { target, ...alert } = m.alert;
    m.alert = { ...alert, endpoint: target };
  }
  if (
    m?.v !== 1 ||
    typeof m.alert?.id !== "string" ||
    typeof m.alert.endpoint !== "string" ||
    !Array.isArray(m.channels) ||
    m.channels.length === 0 ||
    !m.channels.every((c) => typeof c === "string")
  ) {
    throw new Error("retry message lacks an alert id, its endpoint or its channels");
  }
  const alert = m.alert as Alert;
  return { alert: { ...alert, current: withProtocol(alert.current) }, channels: m.channels as string[] };
}

/** SQS FIFO ids take at most 128 characters: the endpoint fits, the dedup id is a digest. */
export function retryMessageIds(message: RetryMessage): { groupId: string; deduplicationId: string } {
  const channels = [...message.channels].sort().join("\n");
  return {
    groupId: message.alert.endpoint,
    deduplicationId: createHash("sha256").update(`${message.alert.id}\n${channels}`).digest("hex"),
  };
}

export interface RetryQueue {
  send(message: RetryMessage): Promise<void>;
}

export class SqsRetryQueue implements RetryQueue {
  readonly options: { client: SQSClient; queueUrl: string };

  constructor(options: { client: SQSClient; queueUrl: string }) {
    this.options = options;
  }

  async send(message: RetryMessage): Promise<void> {
    const { groupId, deduplicationId } = retryMessageIds(message);
    await this.options.client.send(
      new SendMessageCommand({
        QueueUrl: this.options.queueUrl,
        MessageBody: encodeRetryMessage(message),
        MessageGroupId: groupId,
        MessageDeduplicationId: deduplicationId,
      }),
    );
  }
}

/** Per endpoint and channel, the ids of alerts still waiting in the retry queue. */
export interface OwedChannels {
  /** The channels (of those given) with an alert of this endpoint still queued. */
  owed(endpoint: string, channels: readonly string[]): Promise<Set<string>>;
  add(endpoint: string, channel: string, alertId: string): Promise<void>;
  remove(endpoint: string, channel: string, alertId: string): Promise<void>;
}

/** Items PK = DELIVERY#owed|<endpoint>|<channel>, SK = OWED, `alerts` a string set (type "owed"). */
export class DynamoOwedChannels implements OwedChannels {
  readonly options: { client: DynamoDBDocumentClient; tableName: string };

  constructor(options: { client: DynamoDBDocumentClient; tableName: string }) {
    this.options = options;
  }

  #key(endpoint: string, channel: string) {
    return { PK: `DELIVERY#owed|${endpoint}|${channel}`, SK: "OWED" };
  }

  async owed(endpoint: string, channels: readonly string[]): Promise<Set<string>> {
    const owed = new Set<string>();
    await Promise.all(
      channels.map(async (channel) => {
        const { Item } = await this.options.client.send(
          new GetCommand({
            TableName: this.options.tableName,
            Key: this.#key(endpoint, channel),
            ConsistentRead: true,
          }),
        );
        const alerts = Item?.alerts as Set<string> | undefined;
        if (alerts !== undefined && alerts.size > 0) owed.add(channel);
      }),
    );
    return owed;
  }

  async add(endpoint: string, channel: string, alertId: string): Promise<void> {
    await this.#update(endpoint, channel, alertId, "ADD");
  }

  async remove(endpoint: string, channel: string, alertId: string): Promise<void> {
    await this.#update(endpoint, channel, alertId, "DELETE");
  }

  async #update(endpoint: string, channel: string, alertId: string, action: "ADD" | "DELETE"): Promise<void> {
    await this.options.client.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: this.#key(endpoint, channel),
        UpdateExpression: `SET #type = :type ${action} alerts :id`,
        ExpressionAttributeNames: { "#type": "type" },
        ExpressionAttributeValues: { ":type": "owed", ":id": new Set([alertId]) },
      }),
    );
  }
}

export interface QueuedDeliveryReport extends EventDeliveryReport {
  /** The alert handed to the retry queue and the channels it still lacks, if any. */
  queued: RetryMessage | null;
}

/**
 * The notify function's delivery of one event: every channel with nothing of this endpoint still queued
 * gets the notification now (through the ledger, within the deadline); the channels that failed, and those
 * with an earlier alert of the endpoint still queued, get the whole alert through the retry queue. Throws
 * only when the queue did not take it (then the stream hands the record over again).
 */
export async function deliverOrQueue(
  event: StateChangeEvent,
  deliverers: readonly AlertDeliverer[],
  ledger: DeliveryLedger,
  retry: { queue: RetryQueue; owed: OwedChannels },
  options: EventDeliverOptions = {},
): Promise<QueuedDeliveryReport> {
  const behind = await retry.owed.owed(
    event.endpoint,
    deliverers.map((d) => d.name),
  );
  const now = deliverers.filter((d) => !behind.has(d.name));
  const report = await deliverEventAlerts([event], now, ledger, options);
  const alert = report.notifications[0];
  if (alert === undefined || report.held.some((h) => h.alert.id === alert.id)) return { ...report, queued: null };
  const channels = [...new Set([...report.failed.map((f) => f.deliverer), ...behind])].sort();
  if (channels.length === 0) return { ...report, queued: null };
  // Owed first, then queued: the retry function removes the mark only after delivering the message.
  await Promise.all(channels.map((channel) => retry.owed.add(event.endpoint, channel, alert.id)));
  const queued = { alert, channels };
  await retry.queue.send(queued);
  return { ...report, queued };
}

/**
 * The retry function's delivery of one queued alert: to the channels it still lacks (the ledger skips one
 * delivered meanwhile); each delivered channel's owed mark is removed. A channel no longer configured is
 * dropped with its mark. The report's `failed` is non-empty when the message must come back.
 */
export async function deliverQueued(
  message: RetryMessage,
  deliverers: readonly AlertDeliverer[],
  ledger: DeliveryLedger,
  owed: OwedChannels,
  options: { deadline?: number } = {},
): Promise<DeliveryReport & { unknownChannels: string[] }> {
  const byName = new Map(deliverers.map((d) => [d.name, d]));
  const targets = message.channels.flatMap((name) => byName.get(name) ?? []);
  const unknownChannels = message.channels.filter((name) => !byName.has(name));
  const report = await deliverAll([message.alert], targets, ledger, options);
  const failed = new Set(report.failed.map((f) => f.deliverer));
  const settled = message.channels.filter((name) => !failed.has(name));
  await Promise.all(settled.map((channel) => owed.remove(message.alert.endpoint, channel, message.alert.id)));
  return { ...report, unknownChannels };
}
