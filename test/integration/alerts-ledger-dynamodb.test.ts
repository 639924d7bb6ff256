// The DynamoDB delivery ledger against a real DynamoDB Local, with the monitor's own table.
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import type { AlertDeliverer } from "../../shared/alerts/deliver.ts";
import { deliverAll, deliveryKey } from "../../shared/alerts/deliver.ts";
import { DELIVERY_SK, DynamoDeliveryLedger, deliveryPk } from "../../shared/alerts/ledger-dynamodb.ts";
import { deliverEventAlerts } from "../../shared/alerts/notify.ts";
import { DeliveryError } from "../../shared/alerts/retry.ts";
import { useDynamoLocal } from "../helpers/dynamo.ts";
import { alertOf, stateChangeEvent } from "../unit/alerts-fixtures.ts";

const dynamodb = useDynamoLocal();

/** A channel that records what it delivered and fails while `down` is set. */
function recordingChannel(name: string) {
  const delivered: string[] = [];
  const channel: AlertDeliverer & { down: boolean } = {
    name,
    down: false,
    async deliver(alert) {
      if (channel.down) throw new DeliveryError(`${name}: HTTP 503`, { retryable: true });
      delivered.push(alert.id);
    },
  };
  return { channel, delivered };
}

describe("DynamoDB delivery ledger", () => {
  it("a re-run after one channel failed delivers only to that channel", async () => {
    const { tableName } = await dynamodb.newStore();
    const now = new Date("2026-11-22T03:00:00Z");
    const ledger = () => new DynamoDeliveryLedger({ client: dynamodb.client, tableName, now: () => now });
    const sns = recordingChannel("sns:topic");
    const webhook = recordingChannel("webhook:slack");
    webhook.channel.down = true;
    const alerts = [
      alertOf("newly-unauthenticated", { eventId: "evt-1" }),
      alertOf("new-finding", { eventId: "evt-1" }),
    ];

    const first = await deliverAll(alerts, [sns.channel, webhook.channel], ledger());
    expect(first.delivered.map((pair) => pair.deliverer)).toEqual(["sns:topic", "sns:topic"]);
    expect(first.failed.map((failure) => failure.deliverer)).toEqual(["webhook:slack", "webhook:slack"]);

    // The stream hands the same event over again (the batch failed); the webhook is back.
    webhook.channel.down = false;
    const second = await deliverAll(alerts, [sns.channel, webhook.channel], ledger());
    expect(second.delivered.map((pair) => pair.deliverer)).toEqual(["webhook:slack", "webhook:slack"]);
    expect(second.alreadyDelivered.map((pair) => pair.deliverer)).toEqual(["sns:topic", "sns:topic"]);
    expect(sns.delivered).toEqual(alerts.map((alert) => alert.id));
    expect(webhook.delivered).toEqual(alerts.map((alert) => alert.id));

    const { Item } = await dynamodb.client.send(
      new GetCommand({
        TableName: tableName,
        Key: { PK: deliveryPk(deliveryKey(alerts[0]!.id, "sns:topic")), SK: DELIVERY_SK },
        ConsistentRead: true,
      }),
    );
    expect(Item).toEqual({
      PK: `DELIVERY#${alerts[0]!.id}|sns:topic`,
      SK: "DELIVERED",
      type: "delivery",
      at: "2026-11-22T03:00:00.000Z",
      ttl: Math.floor(now.getTime() / 1000) + 30 * 86_400,
    });
  });

  it("marking twice is harmless and has() sees the mark at once", async () => {
    const { tableName } = await dynamodb.newStore();
    const ledger = new DynamoDeliveryLedger({ client: dynamodb.client, tableName });
    expect(await ledger.has("a|b")).toBe(false);
    await ledger.mark("a|b");
    await ledger.mark("a|b");
    expect(await ledger.has("a|b")).toBe(true);
    expect(await ledger.has("a|c")).toBe(false);
  });
});

describe("deliverEventAlerts", () => {
  it("reports the events to hand over again, and the retry delivers only what is missing", async () => {
    const { tableName } = await dynamodb.newStore();
    const ledger = new DynamoDeliveryLedger({ client: dynamodb.client, tableName });
    const sns = recordingChannel("sns:topic");
    const quiet = stateChangeEvent({ eventId: "evt-quiet", alerts: [] });
    const opened = stateChangeEvent({ eventId: "evt-opened", alerts: ["newly-unauthenticated"] });
    const faced = stateChangeEvent({ eventId: "evt-faced", state: "auth-required", alerts: ["newly-internet-facing"] });
    let calls = 0;
    const flaky: AlertDeliverer = {
      name: "webhook:slack",
      async deliver(alert) {
        calls++;
        if (alert.kind === "newly-internet-facing") throw new DeliveryError("HTTP 400", { retryable: false });
      },
    };

    const first = await deliverEventAlerts([quiet, opened, faced], [sns.channel, flaky], ledger);
    expect(first.failedEventIds).toEqual(["evt-faced"]);
    expect(sns.delivered).toHaveLength(2);

    const retry = await deliverEventAlerts([faced], [sns.channel, flaky], ledger);
    expect(retry.alreadyDelivered.map((pair) => pair.deliverer)).toEqual(["sns:topic"]);
    expect(retry.failedEventIds).toEqual(["evt-faced"]);
    expect(sns.delivered).toHaveLength(2);
    expect(calls).toBe(3);
  });
});
