// The outputs AWS shops route from, at the SDK level (aws-sdk-client-mock on the real clients): the
// alert as an AWS Chatbot custom notification on the SNS message (one thread per endpoint), owner tags
// as SNS message attributes, severity floors per channel, every state change as an EventBridge event
// with the documented schema, and Security Hub findings owned by the monitor account, archived on resolve.
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { BatchImportFindingsCommand, SecurityHubClient } from "@aws-sdk/client-securityhub";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { Alert } from "../../shared/alerts/alert.ts";
import { type ChatbotNotification, chatbotNotification } from "../../shared/alerts/chatbot.ts";
import type { AlertDeliverer, DeliveryLedger } from "../../shared/alerts/deliver.ts";
import { SnsDeliverer } from "../../shared/alerts/deliver-sns.ts";
import { SeverityFloorDeliverer, severitiesAtLeast } from "../../shared/alerts/route.ts";
import { EVENT_DETAIL_TYPE, EVENT_SOURCE, EventBridgePublisher } from "../../shared/outputs/eventbridge.ts";
import { publishEvent } from "../../shared/outputs/publish.ts";
import { SecurityHubPublisher } from "../../shared/outputs/securityhub.ts";
import { alertOf, stateChangeEvent, WEB_1 } from "./alerts-fixtures.ts";

const TOPIC = "arn:aws:sns:eu-west-1:999988887777:exposure-alerts";
const MONITOR_ACCOUNT = "999988887777";
const sns = mockClient(SNSClient);
const events = mockClient(EventBridgeClient);
const securityHub = mockClient(SecurityHubClient);

beforeEach(() => {
  sns.reset();
  events.reset();
  securityHub.reset();
});

class MemoryLedger implements DeliveryLedger {
  readonly keys = new Set<string>();
  async has(key: string) {
    return this.keys.has(key);
  }
  async mark(key: string) {
    this.keys.add(key);
  }
}

async function publishedMessage(alert: Alert) {
  sns.on(PublishCommand).resolves({ MessageId: "567910cd-659e-55d4-8ccb-5aaf14679dc0" });
  await new SnsDeliverer({ client: new SNSClient({ region: "eu-west-1" }), topicArn: TOPIC }).deliver(alert);
  const input = sns.commandCalls(PublishCommand).at(-1)!.args[0].input;
  return { input, structure: JSON.parse(input.Message!) as Record<string, string> };
}

describe("AWS Chatbot custom notification on the SNS message", () => {
  it("is what HTTPS subscribers (Chatbot) get, in the custom-notification schema", async () => {
    const alert = alertOf("newly-unauthenticated");
    const { structure } = await publishedMessage(alert);
    const notification = JSON.parse(structure.https!) as ChatbotNotification;
    expect(notification).toEqual(chatbotNotification(alert));
    expect(notification.version).toBe("1.0");
    expect(notification.source).toBe("custom");
    expect(notification.id).toBe(alert.id);
    expect(notification.content.textType).toBe("client-markdown");
    expect(notification.content.title).toContain("Redis open without authentication: 203.0.113.10:6379");
    expect(notification.content.description).toContain("`203.0.113.10:6379`");
    expect(notification.content.description).toContain("111122223333/eu-west-1 i-0abc1234def567890 (web-1)");
    expect(notification.content.nextSteps).toEqual(
      alert.remediation.slice(0, 5).map((step) => step.replace(/[<>]/g, "").replace(/`/g, "'")),
    );
    expect(notification.metadata.threadId).toBe("exposure-monitor/203.0.113.10:6379");
    expect(notification.metadata.additionalContext).toMatchObject({
      kind: "newly-unauthenticated",
      endpoint: "203.0.113.10:6379",
      account: "111122223333",
    });
    // Machine subscribers still get the alert object itself.
    expect(JSON.parse(structure.default!)).toEqual(alert);
  });

  it("threads an alert and its resolution together, and other endpoints apart", () => {
    const opened = chatbotNotification(alertOf("newly-internet-facing"));
    const resolved = chatbotNotification(
      alertOf("resolved", { state: "closed", previous: { state: "auth-required", exposure: "reachable" } }),
    );
    const other = chatbotNotification(alertOf("newly-internet-facing", { endpoint: "198.51.100.7:6379" }));
    expect(resolved.metadata.threadId).toBe(opened.metadata.threadId);
    expect(other.metadata.threadId).not.toBe(opened.metadata.threadId);
    expect(resolved.content.title).toContain("No longer reachable");
  });

  it("keeps a hostile server's text from becoming markup, and bounds it", () => {
    const alert = alertOf("newly-unauthenticated", {
      current: {
        state: "open-unauthenticated",
        exposure: "unauthenticated",
        tls: false,
        protocol: {
          name: "redis",
          product: "redis",
          version: "7.0.0`<!channel>`*bold*\n".repeat(200),
          mode: "standalone",
          role: "master",
        },
      },
    });
    const notification = chatbotNotification(alert);
    expect(notification.content.description).not.toMatch(/<!channel>|7\.0\.0`|\n\n/);
    expect(notification.content.description.length).toBeLessThanOrEqual(3_000);
  });
});

describe("routing", () => {
  it("puts owner tags on the SNS message as attributes for filter policies", async () => {
    const { input } = await publishedMessage(
      alertOf("newly-unauthenticated", { asset: { ...WEB_1, owners: { team: "payments", "cost center": "cc-7" } } }),
    );
    expect(input.MessageAttributes).toMatchObject({
      severity: { DataType: "String", StringValue: "critical" },
      "owner.team": { DataType: "String", StringValue: "payments" },
      "owner.cost_center": { DataType: "String", StringValue: "cc-7" },
    });
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, `v${i}`]));
    const { input: capped } = await publishedMessage(
      alertOf("newly-unauthenticated", { asset: { ...WEB_1, owners: many } }),
    );
    expect(Object.keys(capped.MessageAttributes!)).toHaveLength(10); // SNS's limit
  });

  it("passes a channel only the alerts at or above its floor", async () => {
    const sent: string[] = [];
    const inner: AlertDeliverer = { name: "slack", deliver: async (alert) => void sent.push(alert.kind) };
    const critical = new SeverityFloorDeliverer(inner, "critical");
    for (const kind of ["newly-unauthenticated", "newly-internet-facing", "resolved"] as const) {
      await critical.deliver(alertOf(kind));
    }
    expect(sent).toEqual(["newly-unauthenticated"]);
    expect(critical.name).toBe("slack");
    expect(severitiesAtLeast("critical")).toEqual(["critical"]);
    expect(severitiesAtLeast("high")).toEqual(["high", "critical"]);
  });
});

describe("EventBridge: every state change as an event", () => {
  const publisher = () =>
    new EventBridgePublisher({ client: new EventBridgeClient({ region: "eu-west-1" }), eventBusName: "default" });

  it("puts one documented event per change, alerting or not", async () => {
    events
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: "11710aed-b79e-4468-a20b-bb3c0c3b4860" }] });
    const quiet = stateChangeEvent({
      state: "filtered",
      previous: { state: "closed", exposure: "none" },
      alerts: [],
      scanId: "scan-1",
    });
    await publisher().publish(quiet);
    const [entry] = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries!;
    expect(entry).toMatchObject({ EventBusName: "default", Source: EVENT_SOURCE, DetailType: EVENT_DETAIL_TYPE });
    expect(entry!.Time).toEqual(new Date(quiet.at));
    expect(JSON.parse(entry!.Detail!)).toEqual({
      version: 1,
      eventId: quiet.eventId,
      endpoint: "203.0.113.10:6379",
      ip: "203.0.113.10",
      port: 6379,
      observedAt: quiet.at,
      firstSeenAt: quiet.firstSeenAt,
      previous: { state: "closed", exposure: "none" },
      current: {
        state: "filtered",
        exposure: "none",
        tls: false,
        protocol: "redis",
        product: "redis",
        version: "7.2.4",
      },
      alerts: [],
      severity: "info",
      findings: [],
      newFindings: [],
      asset: {
        account: "111122223333",
        region: "eu-west-1",
        resourceType: "ec2-instance",
        resourceId: "i-0abc1234def567890",
        name: "web-1",
        owners: {},
      },
      scanId: "scan-1",
    });
    await publisher().publish(stateChangeEvent());
    const detail = JSON.parse(events.commandCalls(PutEventsCommand)[1]!.args[0].input.Entries![0]!.Detail!);
    expect(detail).toMatchObject({ alerts: ["newly-unauthenticated"], severity: "critical" });
  });

  it("treats a failed entry in a 200 answer as a failure, and the ledger keeps a retry from repeating", async () => {
    events
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded" }],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-2" }] });
    const ledger = new MemoryLedger();
    const event = stateChangeEvent();
    const first = await publishEvent(event, [publisher()], ledger);
    expect(first.failed).toEqual([
      { publisher: "events:default", error: expect.stringContaining("ThrottlingException"), retryable: true },
    ]);
    expect((await publishEvent(event, [publisher()], ledger)).published).toEqual(["events:default"]);
    expect((await publishEvent(event, [publisher()], ledger)).alreadyPublished).toEqual(["events:default"]);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(2);
  });
});

describe("Security Hub import", () => {
  const publisher = () =>
    new SecurityHubPublisher({
      client: new SecurityHubClient({ region: "eu-west-1" }),
      accountId: MONITOR_ACCOUNT,
      region: "eu-west-1",
    });

  it("imports a finding owned by the monitor account that names the target's account and resource", async () => {
    securityHub.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
    await publisher().publish(stateChangeEvent());
    const [finding] = securityHub.commandCalls(BatchImportFindingsCommand)[0]!.args[0].input.Findings!;
    expect(finding).toMatchObject({
      SchemaVersion: "2018-10-08",
      AwsAccountId: MONITOR_ACCOUNT,
      ProductArn: `arn:aws:securityhub:eu-west-1:${MONITOR_ACCOUNT}:product/${MONITOR_ACCOUNT}/default`,
      Id: `arn:aws:securityhub:eu-west-1:${MONITOR_ACCOUNT}:exposure-monitor/redis/203.0.113.10:6379`,
      Severity: { Label: "CRITICAL" },
      RecordState: "ACTIVE",
      Workflow: { Status: "NEW" },
      ProductFields: expect.objectContaining({
        "exposure-monitor/target-account": "111122223333",
        "exposure-monitor/target-resource": "i-0abc1234def567890",
      }),
    });
    expect(finding!.Resources).toContainEqual(
      expect.objectContaining({
        Type: "AwsEc2Instance",
        Id: "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc1234def567890",
      }),
    );
  });

  it("archives the same finding when the endpoint is resolved", async () => {
    securityHub.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
    await publisher().publish(stateChangeEvent());
    await publisher().publish(
      stateChangeEvent({
        state: "closed",
        previous: { state: "open-unauthenticated", exposure: "unauthenticated" },
        alerts: ["resolved"],
      }),
    );
    const [opened, resolved] = securityHub
      .commandCalls(BatchImportFindingsCommand)
      .map((call) => call.args[0].input.Findings![0]!);
    expect(resolved!.Id).toBe(opened!.Id);
    expect(resolved).toMatchObject({
      RecordState: "ARCHIVED",
      Workflow: { Status: "RESOLVED" },
      Compliance: { Status: "PASSED" },
    });
  });

  it("fails when Security Hub rejects the finding inside a 200 answer", async () => {
    securityHub.on(BatchImportFindingsCommand).resolves({
      FailedCount: 1,
      SuccessCount: 0,
      FailedFindings: [{ Id: "x", ErrorCode: "InvalidInput", ErrorMessage: "Finding does not adhere to ASFF" }],
    });
    const report = await publishEvent(stateChangeEvent(), [publisher()], new MemoryLedger());
    expect(report.failed).toEqual([
      {
        publisher: `securityhub:${MONITOR_ACCOUNT}:eu-west-1`,
        error: expect.stringContaining("InvalidInput"),
        retryable: false,
      },
    ]);
  });
});
