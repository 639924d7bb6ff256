// SNS at the HTTP level: the real SDK client (its Query protocol encoding and its own retry
// strategy) against a local server that answers with the response shapes of the SNS API
// reference. Shows that throttling is absorbed without a second publish.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SNSClient } from "@aws-sdk/client-sns";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deliverAll } from "../../shared/alerts/deliver.ts";
import { SnsDeliverer } from "../../shared/alerts/deliver-sns.ts";
import { alertOf, deliverAsLaptop, deliveryStateIn, EVENT_AT } from "../unit/alerts-fixtures.ts";
import { type Reply, type ScriptedServer, startScriptedServer } from "./alerts-http-server.ts";

const TOPIC = "arn:aws:sns:eu-west-1:999988887777:exposure-alerts";
const THROTTLED: Reply = {
  status: 429,
  headers: { "content-type": "text/xml" },
  body: '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>Throttled</Code><Message>Rate exceeded</Message></Error><RequestId>9dd01905-5012-5f99-8663-4b3ecd0dfaef</RequestId></ErrorResponse>',
};
const PUBLISHED: Reply = {
  status: 200,
  headers: { "content-type": "text/xml" },
  body: '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId></PublishResult><ResponseMetadata><RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId></ResponseMetadata></PublishResponse>',
};

let server: ScriptedServer | undefined;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "alerts-sns-http-"));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

function snsDeliverer(url: string, attempts = 3) {
  const client = new SNSClient({
    region: "eu-west-1",
    endpoint: new URL(url).origin,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
  });
  return new SnsDeliverer({
    client,
    topicArn: TOPIC,
    retry: { attempts, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 1_000 },
  });
}

describe("SNS deliverer through the real SDK client", () => {
  it("Throttled twice, then published: the SDK's retry absorbs it and the alert is published once", async () => {
    server = await startScriptedServer([THROTTLED, THROTTLED, PUBLISHED], "/");
    const alert = alertOf("newly-unauthenticated");
    const report = await deliverAll([alert], [snsDeliverer(server.url)], deliveryStateIn(dir));
    expect(report.failed).toEqual([]);
    expect(report.delivered).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
    expect(server.successes).toBe(1);
    expect(server.requests.map((request) => request.headers["amz-sdk-request"])).toEqual([
      "attempt=1; max=3",
      "attempt=2; max=3",
      "attempt=3; max=3",
    ]);

    const form = new URLSearchParams(server.requests[2]!.body);
    expect(form.get("Action")).toBe("Publish");
    expect(form.get("TopicArn")).toBe(TOPIC);
    expect(form.get("MessageStructure")).toBe("json");
    expect(form.get("Subject")).toContain("[CRITICAL] newly-unauthenticated 203.0.113.10:6379");
    expect(JSON.parse(JSON.parse(form.get("Message")!).default)).toEqual(alert);
    const attributes: Record<string, string> = {};
    for (let i = 1; form.has(`MessageAttributes.entry.${i}.Name`); i++) {
      expect(form.get(`MessageAttributes.entry.${i}.Value.DataType`)).toBe("String");
      attributes[form.get(`MessageAttributes.entry.${i}.Name`)!] = form.get(
        `MessageAttributes.entry.${i}.Value.StringValue`,
      )!;
    }
    expect(attributes).toEqual({ kind: "newly-unauthenticated", severity: "critical", account: "111122223333" });

    const again = await deliverAll([alert], [snsDeliverer(server.url)], deliveryStateIn(dir));
    expect(again.alreadyDelivered).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
  });

  it("throttling that outlasts every attempt publishes nothing and leaves the alert pending", async () => {
    server = await startScriptedServer([THROTTLED], "/");
    const alert = alertOf("newly-unauthenticated");
    const report = await deliverAsLaptop([alert], [snsDeliverer(server.url, 2)], dir);
    // Two attempts of ours, each the SDK's three.
    expect(server.requests).toHaveLength(6);
    expect(server.successes).toBe(0);
    expect(report.failed[0]!.error).toMatch(
      /SNS Publish: ThrottledException: Rate exceeded \(gave up after 2 attempts\)/,
    );
    expect(report.pending).toBe(1);
    // The event stays ahead of the delivery watermark: the next run reads it again.
    expect(await deliveryStateIn(dir).read()).toBe(EVENT_AT);
  });
});
