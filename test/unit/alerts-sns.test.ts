import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AuthorizationErrorException,
  InternalErrorException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chatbotNotification } from "../../shared/alerts/chatbot.ts";
import { deliverAll } from "../../shared/alerts/deliver.ts";
import { SnsDeliverer, snsPublishInput } from "../../shared/alerts/deliver-sns.ts";
import { alertJson, emailBody, emailSubject } from "../../shared/alerts/render.ts";
import { alertOf, deliverAsLaptop, deliveryStateIn, EVENT_AT } from "./alerts-fixtures.ts";

const TOPIC = "arn:aws:sns:eu-west-1:999988887777:exposure-alerts";
const FAST_RETRY = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 1_000 };
const sns = mockClient(SNSClient);
let dir: string;

beforeEach(async () => {
  sns.reset();
  dir = await mkdtemp(join(tmpdir(), "alerts-sns-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function deliverer() {
  return new SnsDeliverer({ client: new SNSClient({ region: "eu-west-1" }), topicArn: TOPIC, retry: FAST_RETRY });
}

const throttled = () =>
  new ThrottledException({ message: "Rate exceeded", $metadata: { httpStatusCode: 429, attempts: 3 } });

describe("SNS deliverer", () => {
  it("publishes the alert JSON with kind, severity and account attributes and the email subject", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "567910cd-659e-55d4-8ccb-5aaf14679dc0" });
    const alert = alertOf("newly-unauthenticated");
    await deliverer().deliver(alert);

    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input).toEqual({
      TopicArn: TOPIC,
      Subject: "[CRITICAL] newly-unauthenticated 203.0.113.10:6379 - 111122223333 i-0abc1234def567890 (web-1)",
      MessageStructure: "json",
      Message: JSON.stringify({
        default: alertJson(alert),
        https: JSON.stringify(chatbotNotification(alert)),
        email: emailBody(alert),
        sms: emailSubject(alert),
      }),
      MessageAttributes: {
        kind: { DataType: "String", StringValue: "newly-unauthenticated" },
        severity: { DataType: "String", StringValue: "critical" },
        account: { DataType: "String", StringValue: "111122223333" },
      },
    });
    // Machine subscribers (SQS, Lambda, HTTPS) get exactly the alert object.
    const structure = JSON.parse(input.Message!) as { default: string };
    expect(JSON.parse(structure.default)).toEqual(alert);
    expect(input.Subject!.length).toBeLessThan(100);
  });

  it("marks the account unknown (SNS attribute values may not be empty) when the owner is unknown", () => {
    const input = snsPublishInput(TOPIC, alertOf("newly-internet-facing", { state: "auth-required", asset: null }));
    expect(input.MessageAttributes!.account).toEqual({ DataType: "String", StringValue: "unknown" });
    expect(input.MessageAttributes!.severity!.StringValue).toBe("high");
  });

  it("rides out throttling: two Throttled errors then success publishes exactly once, and a re-run publishes nothing", async () => {
    sns
      .on(PublishCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ MessageId: "567910cd-659e-55d4-8ccb-5aaf14679dc0" });
    const outbox = deliveryStateIn(dir);
    const alert = alertOf("newly-unauthenticated");

    const first = await deliverAll([alert], [deliverer()], outbox);
    expect(first.failed).toEqual([]);
    expect(first.delivered).toEqual([{ alertId: alert.id, deliverer: `sns:${TOPIC}` }]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(3);

    const again = await deliverAll([alert], [deliverer()], deliveryStateIn(dir));
    expect(again.delivered).toEqual([]);
    expect(again.alreadyDelivered).toHaveLength(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(3);
  });

  it("retries server faults, and gives up (pending) when throttling outlasts the attempts", async () => {
    sns
      .on(PublishCommand)
      .rejectsOnce(new InternalErrorException({ message: "boom", $metadata: {} }))
      .resolves({});
    await deliverer().deliver(alertOf("newly-unauthenticated"));
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);

    sns.reset();
    sns.on(PublishCommand).rejects(throttled());
    const alert = alertOf("newly-unauthenticated");
    const report = await deliverAsLaptop([alert], [deliverer()], dir);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(FAST_RETRY.attempts);
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0]!.retryable).toBe(true);
    expect(report.failed[0]!.error).toMatch(/ThrottledException.*gave up after 3 attempts/);
    expect(report.pending).toBe(1);
  });

  it("a permanent failure is not retried in the run, stays pending, and goes out on the next run", async () => {
    sns
      .on(PublishCommand)
      .rejects(new AuthorizationErrorException({ message: "not authorized to perform SNS:Publish", $metadata: {} }));
    const alert = alertOf("newly-unauthenticated");
    const first = await deliverAsLaptop([alert], [deliverer()], dir);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(first.failed).toEqual([
      {
        alertId: alert.id,
        deliverer: `sns:${TOPIC}`,
        error: "SNS Publish: AuthorizationErrorException: not authorized to perform SNS:Publish",
        retryable: false,
      },
    ]);
    expect(first.pending).toBe(1);
    expect(await deliveryStateIn(dir).read()).toBe(EVENT_AT);

    // The permission is fixed; the next cycle has no new alerts but delivers the pending one.
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "m-2" });
    const second = await deliverAsLaptop([], [deliverer()], dir);
    expect(second.delivered).toEqual([{ alertId: alert.id, deliverer: `sns:${TOPIC}` }]);
    expect(second.pending).toBe(0);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(JSON.parse(JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!).default).id).toBe(
      alert.id,
    );
    expect(await deliveryStateIn(dir).read()).not.toBe(EVENT_AT);
  });
});
