// One whole scan cycle through the three Lambda handlers, driven the way AWS drives them:
//   scheduled event -> enumerate (inventory of the fixture organization, AWS faked at the SDK level)
//   -> the shard messages it sent with SendMessageBatch -> probe, one SQS event per shard (real probes of
//   real redis-server processes, results in DynamoDB Local) -> the event items read back from the table as
//   DynamoDB stream records, filtered with the synthesized template's own filter -> notify -> SNS (faked).
// Each handler runs with the environment the synthesized stack gives its function.
//
// Where the probe goes: the fixture's addresses are public (54.240.10.1, ...) and are never contacted.
// The probe function's ProbeContext (functions/commons/probe-context.ts, empty in the deployed code) is
// replaced here by one whose connectTo sends each socket to a loopback stand-in: 54.240.10.1:6379 to a
// Redis without a password, 3.80.20.2:6379 to one with a password, every other endpoint to a loopback
// port where nothing listens. Everything else (messages, results, records, alerts) names the public address.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { Context, DynamoDBRecord, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { findRedisServer, freePort, type LabServer, LocalLab } from "../../cli/local-lab.ts";
import type { Alert } from "../../shared/alerts/alert.ts";
import { deliverRecordedEvents } from "../../shared/alerts/notify.ts";
import {
  type Acknowledgement,
  acknowledgementExpiryEvent,
  acknowledgementId,
} from "../../shared/exposure/acknowledgement.ts";
import { DIMENSION, METRIC } from "../../shared/metrics-names.ts";
import { runScanCycle } from "../../shared/scan/local-cycle.ts";
import type { ShardMessage } from "../../shared/scan/shards.ts";
import { DynamoAcknowledgements } from "../../shared/store/dynamo-acks.ts";
import type { DynamoExposureStore } from "../../shared/store/dynamo-store.ts";
import { SqliteDatabase } from "../../shared/store/sqlite/database.ts";
import { SqliteExposureStore } from "../../shared/store/sqlite/sqlite-store.ts";
import { callerCredentials, installMockWorld, serviceError } from "../fixtures/aws/mock-world.ts";
import * as org from "../fixtures/aws/organization.ts";
import { useDynamoLocal } from "../helpers/dynamo.ts";
import { synthesizeApp } from "../infra/synth-helper.ts";
import { startScriptedServer } from "../integration/alerts-http-server.ts";

// The loopback stand-ins, filled in beforeAll; the mock below reads them at probe time.
const standIns = vi.hoisted(() => ({
  byEndpoint: new Map<string, number>(),
  closedPort: 0,
  /** The endpoints enumerate queued: the only ones a socket may be opened for. */
  queued: new Set<string>(),
  dialed: [] as string[],
  unexpected: [] as string[],
}));
vi.mock("../../functions/commons/probe-context.ts", () => ({
  probeContext: {
    connectTo(ip: string, port: number) {
      const key = `${ip}|${port}`;
      if (standIns.closedPort === 0 || !standIns.queued.has(key)) {
        standIns.unexpected.push(key);
        throw new Error(`no loopback stand-in for ${key}`);
      }
      standIns.dialed.push(key);
      return { host: "127.0.0.1", port: standIns.byEndpoint.get(key) ?? standIns.closedPort };
    },
  },
}));

const dynamo = useDynamoLocal();
const binary = findRedisServer();
const SCHEDULED_TIME = "2026-11-22T04:30:00Z";
const SHARD_SIZE = 3;
const PORTS = [6379, 6380];
const OPEN = "54.240.10.1:6379";
const PROTECTED = "3.80.20.2:6379";

let lab: LocalLab;
let openServer: LabServer;
let protectedServer: LabServer;
let store: DynamoExposureStore;
let restoreWorld: () => void;
let streamFilter: (record: DynamoDBRecord) => boolean;
const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);
const eventBridge = mockClient(EventBridgeClient);
const stdout: string[] = [];
const QUEUE_URL = `https://sqs.us-east-1.amazonaws.com/${org.MANAGEMENT}/ExposureMonitor-ShardQueue`;
const TOPIC_ARN = `arn:aws:sns:us-east-1:${org.MANAGEMENT}:ExposureMonitor-AlertTopic`;

type Handlers = {
  enumerate: typeof import("../../functions/enumerate.ts");
  probe: typeof import("../../functions/probe.ts");
  notify: typeof import("../../functions/notify.ts");
  retry: typeof import("../../functions/notify-retry.ts");
};
let handlers: Handlers;

const context = (name: string): Context => ({
  functionName: `ExposureMonitor-${name}`,
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:us-east-1:${org.MANAGEMENT}:function:ExposureMonitor-${name}`,
  memoryLimitInMB: "1024",
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/ExposureMonitor-${name}`,
  logStreamName: "2026/11/22/[$LATEST]0123456789abcdef0123456789abcdef",
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 60_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});

/** The environment the synthesized stack gives one function, with its references resolved to the local parts. */
function stackEnvironment(template: ReturnType<typeof synthesizeApp>["monitorTemplate"], logicalPrefix: string) {
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const [, fn] = Object.entries(resources).find(
    ([id, resource]) => resource.Type === "AWS::Lambda::Function" && id.startsWith(logicalPrefix),
  )!;
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  const byType: Record<string, string> = {
    "AWS::DynamoDB::Table": store.tableName,
    "AWS::SQS::Queue": QUEUE_URL,
    "AWS::SNS::Topic": TOPIC_ARN,
  };
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => {
      if (typeof value === "string") return [name, value];
      const ref = (value as { Ref?: string }).Ref;
      const resolved = ref === undefined ? undefined : byType[resources[ref]?.Type ?? ""];
      // A variable the test cannot fill is a variable this test does not know: fail, do not guess.
      if (resolved === undefined) throw new Error(`cannot resolve ${name}=${JSON.stringify(value)}`);
      return [name, resolved];
    }),
  );
}

/** The template's stream filter (what AWS applies before invoking notify), for the pattern syntax it uses. */
function streamFilterOf(template: ReturnType<typeof synthesizeApp>["monitorTemplate"]) {
  const mappings = Object.values(template.findResources("AWS::Lambda::EventSourceMapping")) as {
    Properties: { FilterCriteria?: { Filters: { Pattern: string }[] } };
  }[];
  const patterns = mappings
    .flatMap((m) => m.Properties.FilterCriteria?.Filters ?? [])
    .map((f) => JSON.parse(f.Pattern));
  expect(patterns.length).toBeGreaterThan(0);
  const matches = (pattern: unknown, value: unknown): boolean => {
    if (Array.isArray(pattern)) {
      return pattern.some((rule) =>
        typeof rule === "object" && rule !== null && "prefix" in rule
          ? typeof value === "string" && value.startsWith(String(rule.prefix))
          : rule === value,
      );
    }
    if (typeof pattern === "object" && pattern !== null) {
      return Object.entries(pattern).every(([key, sub]) =>
        matches(sub, typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined),
      );
    }
    return false;
  };
  return (record: DynamoDBRecord) => patterns.some((pattern) => matches(pattern, record));
}

/** Imports a handler module with exactly its function's environment on top of the common one. */
async function importWith<T>(environment: Record<string, string>, load: () => Promise<T>): Promise<T> {
  Object.assign(process.env, environment);
  try {
    return await load();
  } finally {
    for (const name of Object.keys(environment)) delete process.env[name];
  }
}

beforeAll(async () => {
  if (!binary) throw new Error("redis-server is not installed (Debian: apt-get install redis-server)");
  lab = new LocalLab(binary);
  openServer = await lab.add("open", null);
  protectedServer = await lab.add("protected", "s3cret-pass");
  standIns.byEndpoint.set("54.240.10.1|6379", openServer.port);
  standIns.byEndpoint.set("3.80.20.2|6379", protectedServer.port);
  standIns.closedPort = await freePort();
  store = await dynamo.newStore();

  // The fixture organization: the management account calls, a member is read through its role, one
  // account denies the role (a coverage gap), a suspended one is skipped.
  restoreWorld = installMockWorld({
    callerIdentity: org.callerIdentity,
    listAccounts: org.listAccountsPages,
    assumeRole: (accountId) =>
      accountId === org.DENIED
        ? serviceError("AccessDenied", `not authorized to perform: sts:AssumeRole on ${accountId}`, 403)
        : org.assumeRoleOutput(accountId),
    interfaces: (accountId, region) => {
      if (accountId === org.MANAGEMENT && region === "us-east-1") return org.managementInterfacesPages;
      if (accountId === org.MEMBER && region === "us-east-1") return org.memberInterfaces;
      return org.empty.interfaces;
    },
    addresses: (accountId, region) =>
      accountId === org.MANAGEMENT && region === "us-east-1" ? org.managementAddresses : org.empty.addresses,
  }).restore;
  sns.on(PublishCommand).callsFake(async () => ({ MessageId: randomUUID() }));
  eventBridge
    .on(PutEventsCommand)
    .callsFake(async () => ({ FailedEntryCount: 0, Entries: [{ EventId: randomUUID() }] }));

  const synthesized = synthesizeApp({ probePorts: PORTS, accounts: "organization", regions: ["us-east-1"] });
  const template = synthesized.monitorTemplate;
  streamFilter = streamFilterOf(template);

  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: callerCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: callerCredentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.dynamo.endpoint,
    POWERTOOLS_TRACE_ENABLED: "false",
  });
  // Test-only changes to the stack's values: small shards so one scan has several, and quiet logs.
  const testOverrides = { SHARD_SIZE: String(SHARD_SIZE), LOG_LEVEL: "ERROR" };
  // Metrics are EMF lines on stdout; keep them for the assertions (and out of the test log).
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  handlers = {
    enumerate: await importWith(
      { ...stackEnvironment(template, "Enumerate"), ...testOverrides },
      () => import("../../functions/enumerate.ts"),
    ),
    probe: await importWith(
      { ...stackEnvironment(template, "Probe"), ...testOverrides },
      () => import("../../functions/probe.ts"),
    ),
    notify: await importWith(
      { ...stackEnvironment(template, "Notify"), ...testOverrides },
      () => import("../../functions/notify.ts"),
    ),
    retry: await importWith(
      { ...stackEnvironment(template, "AlertRetryNotifyRetry"), ...testOverrides },
      () => import("../../functions/notify-retry.ts"),
    ),
  };
}, 120_000);

afterAll(async () => {
  vi.restoreAllMocks();
  restoreWorld?.();
  sqs.restore();
  sns.restore();
  eventBridge.restore();
  await lab?.close();
});

/** EMF documents printed since `from`: one entry per metric datum with its dimensions. */
function metricsSince(from: number): { name: string; value: number; dimensions: Record<string, string> }[] {
  const data: { name: string; value: number; dimensions: Record<string, string> }[] = [];
  for (const line of stdout.slice(from).join("").split("\n")) {
    if (!line.includes('"_aws"')) continue;
    const doc = JSON.parse(line) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
    };
    for (const directive of doc._aws.CloudWatchMetrics) {
      expect(directive.Namespace).toBe("ExposureMonitor");
      const dimensions = Object.fromEntries(directive.Dimensions.flat().map((name) => [name, String(doc[name])]));
      for (const { Name } of directive.Metrics) {
        for (const value of [doc[Name]].flat()) data.push({ name: Name, value: Number(value), dimensions });
      }
    }
  }
  return data;
}

const valuesOf = (data: ReturnType<typeof metricsSince>, name: string) =>
  data.filter((datum) => datum.name === name).map((datum) => datum.value);

/** The messages SQS accepted, from the SendMessageBatch calls since the last reset. */
function acceptedShards(): ShardMessage[] {
  return sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call, i) => {
      const entries = call.args[0].input.Entries ?? [];
      // The first call of a test is answered with one failed entry (below); it was not accepted.
      return entries.filter((entry) => !(i === 0 && rejectFirst && entry.Id === "1"));
    })
    .map((entry: SendMessageBatchRequestEntry) => JSON.parse(entry.MessageBody!) as ShardMessage);
}
let rejectFirst = false;

function answerBatches(options: { failOneEntryOfFirstCall: boolean }) {
  sqs.reset();
  rejectFirst = options.failOneEntryOfFirstCall;
  let calls = 0;
  sqs.on(SendMessageBatchCommand).callsFake(async (input: { Entries?: SendMessageBatchRequestEntry[] }) => {
    calls++;
    const entries = input.Entries ?? [];
    const failed = calls === 1 && options.failOneEntryOfFirstCall ? entries.filter((e) => e.Id === "1") : [];
    return {
      Successful: entries
        .filter((entry) => !failed.includes(entry))
        .map((entry) => ({ Id: entry.Id, MessageId: randomUUID(), MD5OfMessageBody: "0" })),
      Failed: failed.map((entry) => ({
        Id: entry.Id,
        SenderFault: false,
        Code: "InternalError",
        Message: "We encountered an internal error. Please try again.",
      })),
    };
  });
}

function sqsEvent(body: string): SQSEvent {
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: `AQEB${randomUUID().replaceAll("-", "")}`,
        body,
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: String(Date.now()),
          SenderId: "AROAEXAMPLEROLEID:ExposureMonitor-Enumerate",
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: "0",
        eventSource: "aws:sqs",
        eventSourceARN: `arn:aws:sqs:us-east-1:${org.MANAGEMENT}:ExposureMonitor-ShardQueue`,
        awsRegion: "us-east-1",
      },
    ],
  };
}

let sequence = 1000;
/** A table item as the stream record DynamoDB emits for it (Lambda's event shape, NEW_IMAGE view). */
function streamRecord(item: Record<string, unknown>, eventName: "INSERT" | "MODIFY" = "INSERT"): DynamoDBRecord {
  sequence++;
  return {
    eventID: randomUUID().replaceAll("-", ""),
    eventName,
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: "us-east-1",
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      Keys: marshall({ PK: item.PK, SK: item.SK }) as never,
      NewImage: marshall(item, { removeUndefinedValues: true }) as never,
      SequenceNumber: String(sequence).padStart(21, "0"),
      SizeBytes: 600,
      StreamViewType: "NEW_IMAGE",
    },
    eventSourceARN: `arn:aws:dynamodb:us-east-1:${org.MANAGEMENT}:table/${store.tableName}/stream/2026-11-22T00:00:00.000`,
  };
}

/** Every item of the table, as INSERT records, in key order. */
async function tableAsStreamRecords(): Promise<DynamoDBRecord[]> {
  const { Items = [] } = await dynamo.client.send(
    new ScanCommand({ TableName: store.tableName, ConsistentRead: true }),
  );
  return Items.map((item) => streamRecord(item));
}

let notifiedByHandler: Alert[] = [];

// The handlers' scan, kept for the laptop's run on the same targets below.
let scanId: string;
let shards: ShardMessage[];

describe("a scan cycle through the Lambda handlers", () => {
  let events: DynamoDBRecord[];

  it("enumerate records the scan and queues its shards with SendMessageBatch, retrying a failed entry", async () => {
    answerBatches({ failOneEntryOfFirstCall: true });
    const mark = stdout.length;
    const result = await handlers.enumerate.handler(
      { scheduledTime: SCHEDULED_TIME, executionId: randomUUID() },
      context("Enumerate"),
    );
    scanId = result.scanId;
    expect(scanId).toMatch(/^scan-20261122T043000Z/);
    shards = acceptedShards();
    for (const target of shards.flatMap((shard) => shard.targets)) standIns.queued.add(`${target.host}|${target.port}`);
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    // The failed entry went again, alone, in a later call.
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.every((call) => call.args[0].input.QueueUrl === QUEUE_URL)).toBe(true);
    expect(calls.every((call) => (call.args[0].input.Entries ?? []).length <= 10)).toBe(true);

    // Each shard accepted exactly once, ids 1/n..n/n, every target of the inventory in exactly one shard.
    const ids = shards.map((shard) => shard.shardId).sort();
    expect(ids).toEqual(Array.from({ length: shards.length }, (_, i) => `${i + 1}/${shards.length}`).sort());
    const targets = shards.flatMap((shard) => shard.targets);
    expect(shards.every((shard) => shard.scanId === scanId && shard.targets.length <= SHARD_SIZE)).toBe(true);
    expect(new Set(targets.map((t) => `${t.host}|${t.port}`)).size).toBe(targets.length);
    expect(new Set(targets.map((t) => t.port))).toEqual(new Set(PORTS));
    expect(targets.map((t) => `${t.host}:${t.port}`)).toEqual(expect.arrayContaining([OPEN, PROTECTED]));
    expect(shards.length).toBeGreaterThanOrEqual(3);
    expect(result).toEqual({
      scanId,
      status: "started",
      targets: targets.length,
      shards: shards.length,
      gaps: 1,
      expiryEvents: 0,
    });

    const scan = await store.getScan(scanId);
    expect(scan).toMatchObject({ targets: targets.length, shards: shards.length, shardsDone: 0, completedAt: null });
    expect(scan?.gaps).toEqual([expect.objectContaining({ accountId: org.DENIED, source: "sts:AssumeRole" })]);
    expect(scan?.accountsRead).toEqual([org.MANAGEMENT, org.MEMBER]);

    const metrics = metricsSince(mark);
    // Only the alarmed metrics are emitted (custom metrics cost per name and dimension set).
    expect([...new Set(metrics.map((datum) => datum.name))]).toEqual([METRIC.coverageGaps]);
    expect(valuesOf(metrics, METRIC.coverageGaps)).toEqual([1]);
    expect(valuesOf(metrics, METRIC.scansCompleted)).toEqual([]);
    // The dimension set the stack's alarms and dashboard use: `service` only.
    expect(metrics[0]?.dimensions).toEqual({ [DIMENSION.service]: "exposure-monitor" });
  });

  it("a retried enumerate of the same scheduled run resumes the one scan and sends the same shards again", async () => {
    answerBatches({ failOneEntryOfFirstCall: false });
    const again = await handlers.enumerate.handler({ scheduledTime: SCHEDULED_TIME }, context("Enumerate"));
    expect(again).toMatchObject({ scanId, status: "resumed" });
    const resent = acceptedShards();
    const byId = (list: ShardMessage[]) => [...list].sort((a, b) => (a.shardId < b.shardId ? -1 : 1));
    expect(byId(resent)).toEqual(byId(shards));
    expect((await store.getScan(scanId))?.shardsDone).toBe(0);
  });

  it("probe: each shard once, a redelivery counts nothing, the last shard completes the scan exactly once", async () => {
    const mark = stdout.length;
    const ordered = [...shards].sort((a, b) => (a.shardId < b.shardId ? -1 : 1));
    const first = ordered[0]!;
    const body = (shard: ShardMessage) => JSON.stringify(shard);

    expect(await handlers.probe.handler(sqsEvent(body(first)), context("Probe"))).toEqual({ batchItemFailures: [] });
    const afterFirst = await store.getScan(scanId);
    expect(afterFirst?.shardsDone).toBe(1);
    // The same message again (SQS is at-least-once): nothing counted, no new state-change event.
    const eventsBefore = (await eventItems()).length;
    expect(await handlers.probe.handler(sqsEvent(body(first)), context("Probe"))).toEqual({ batchItemFailures: [] });
    expect(await store.getScan(scanId)).toEqual(afterFirst);
    expect((await eventItems()).length).toBe(eventsBefore);

    for (const shard of ordered.slice(1)) {
      expect(await handlers.probe.handler(sqsEvent(body(shard)), context("Probe"))).toEqual({ batchItemFailures: [] });
    }
    const scan = await store.getScan(scanId);
    const total = shards.flatMap((s) => s.targets).length;
    expect(scan?.shardsDone).toBe(shards.length);
    expect(scan?.completedAt).not.toBeNull();
    expect(scan?.countsByState).toEqual({ "open-unauthenticated": 1, "auth-required": 1, closed: total - 2 });
    // Every socket went to a loopback stand-in: once per target (loopback refuses or answers at once)...
    expect(standIns.unexpected).toEqual([]);
    expect(standIns.dialed.length).toBeGreaterThanOrEqual(total + first.targets.length);
    // ...and the records name the public addresses.
    expect(await store.getEndpoint(OPEN)).toMatchObject({ state: "open-unauthenticated", exposure: "unauthenticated" });
    expect(await store.getEndpoint(PROTECTED)).toMatchObject({ state: "auth-required", exposure: "reachable" });
    expect((await store.getEndpoint(OPEN))?.asset).toMatchObject({ accountId: org.MANAGEMENT });

    // The last shard's redelivery after completion: skipped, scan unchanged, nothing emitted twice.
    const last = ordered.at(-1)!;
    expect(await handlers.probe.handler(sqsEvent(body(last)), context("Probe"))).toEqual({ batchItemFailures: [] });
    expect(await store.getScan(scanId)).toEqual(scan);

    const metrics = metricsSince(mark);
    expect(valuesOf(metrics, METRIC.scansCompleted)).toEqual([1]);
    // Duration, endpoints by exposure and probes are log fields, not metrics.
    expect([...new Set(metrics.map((datum) => datum.name))]).toEqual([METRIC.scansCompleted]);
    expect(metrics[0]?.dimensions).toEqual({ [DIMENSION.service]: "exposure-monitor" });
  });

  it("probe fails the invocation for a malformed or tampered shard (SQS redelivers it, then the DLQ), and probes nothing", async () => {
    const dialed = standIns.dialed.length;
    for (const body of [
      "{not json",
      JSON.stringify({ scanId, shardId: "1/1", targets: [{ host: "127.0.0.1", port: 9001 }] }),
      JSON.stringify({ scanId: "scan-unknown", shardId: "1/1", targets: [{ host: "54.240.10.1", port: 6379 }] }),
    ]) {
      const event = sqsEvent(body);
      expect(await handlers.probe.handler(event, context("Probe")).catch((error: Error) => error.name)).toBe(
        // One record, and it failed: Powertools throws FullBatchFailureError, so the invocation fails and
        // SQS redelivers the message (then moves it to the dead-letter queue).
        "FullBatchFailureError",
      );
    }
    expect(standIns.dialed.length).toBe(dialed);
  });

  it("notify: exactly the expected alerts, once each, however often the stream hands the records over", async () => {
    const records = await tableAsStreamRecords();
    events = records.filter(streamFilter);
    // Current states, the scan record and delivery marks never reach notify: only the two events.
    expect(records.length).toBeGreaterThan(events.length);
    expect(events.map((record) => record.dynamodb?.NewImage?.type?.S)).toEqual(["event", "event"]);

    const mark = stdout.length;
    sns.resetHistory();
    expect(await handlers.notify.handler({ Records: events }, context("Notify"))).toEqual({ batchItemFailures: [] });
    const published = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    notifiedByHandler = published.map((p) => JSON.parse(JSON.parse(p.Message!).default) as Alert);
    expect(published.every((p) => p.TopicArn === TOPIC_ARN && p.MessageStructure === "json")).toBe(true);
    const sent = published.map((p) => {
      const alert = JSON.parse(JSON.parse(p.Message!).default);
      return `${alert.endpoint} ${p.MessageAttributes?.kind?.StringValue} ${p.MessageAttributes?.severity?.StringValue} ${p.MessageAttributes?.account?.StringValue}`;
    });
    // One notification per event: the open server's critical CVEs (depending on the installed Redis) ride
    // inside its newly-unauthenticated alert, never as a second, new-finding notification.
    expect(sent.sort()).toEqual(
      [
        `${OPEN} newly-unauthenticated critical ${org.MANAGEMENT}`,
        `${PROTECTED} newly-internet-facing high ${org.MANAGEMENT}`,
      ].sort(),
    );
    // Alerts sent are logged, not published as a metric.
    expect(metricsSince(mark).map((datum) => datum.name)).not.toContain("AlertsSent");

    // The same records again (a retried batch), and each on its own (a bisected batch): nothing published twice.
    expect(await handlers.notify.handler({ Records: events }, context("Notify"))).toEqual({ batchItemFailures: [] });
    for (const record of events) {
      expect(await handlers.notify.handler({ Records: [record] }, context("Notify"))).toEqual({
        batchItemFailures: [],
      });
    }
    expect(sns.commandCalls(PublishCommand)).toHaveLength(published.length);
    // Every state change is also on the event bus, once, whatever the redeliveries.
    const put = eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
    expect(put.map((entry) => JSON.parse(entry.Detail!).endpoint).sort()).toEqual([OPEN, PROTECTED].sort());
    expect(put.every((entry) => entry.Source === "exposure-monitor" && entry.EventBusName === "default")).toBe(true);
  });

  it("notify ignores a record that is not an inserted event (a modified state item, new and old images)", async () => {
    const [state] = (
      await dynamo.client.send(
        new QueryCommand({
          TableName: store.tableName,
          KeyConditionExpression: "PK = :pk AND SK = :sk",
          ExpressionAttributeValues: { ":pk": `ENDPOINT#${OPEN}`, ":sk": "STATE" },
        }),
      )
    ).Items!;
    const record = streamRecord(state!, "MODIFY");
    record.dynamodb!.OldImage = marshall(
      { ...state, version: Number(state!.version) - 1 },
      {
        removeUndefinedValues: true,
      },
    ) as never;
    record.dynamodb!.StreamViewType = "NEW_AND_OLD_IMAGES";
    expect(streamFilter(record)).toBe(false);
    const before = sns.commandCalls(PublishCommand).length;
    expect(await handlers.notify.handler({ Records: [record, ...events] }, context("Notify"))).toEqual({
      batchItemFailures: [],
    });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(before);
  });

  it("notify puts the whole alert on the retry queue when SNS does not take it; notify-retry delivers it once, in order", async () => {
    const item = (await eventItems()).find((event) => event.endpoint === PROTECTED)!;
    // Two more events of the same endpoint, not yet delivered; SNS fails every attempt at first.
    const first = { ...item, eventId: `retry-1-${randomUUID()}`, SK: `EVENT#${item.at}#retry1` };
    const second = { ...item, eventId: `retry-2-${randomUUID()}`, SK: `EVENT#${item.at}#retry2` };
    sqs.on(SendMessageCommand).callsFake(async () => ({ MessageId: randomUUID() }));
    sns.on(PublishCommand).rejects(serviceError("InternalError", "SNS is having a bad day", 500));
    sns.resetHistory();
    sqs.resetHistory();
    let response: unknown;
    try {
      // The delivered one is skipped (ledger); the failed one is queued whole and the stream moves on.
      response = await handlers.notify.handler({ Records: [events[0]!, streamRecord(first)] }, context("Notify"));
    } finally {
      sns.on(PublishCommand).callsFake(async () => ({ MessageId: randomUUID() }));
    }
    expect(response).toEqual({ batchItemFailures: [] });
    const attempts = sns.commandCalls(PublishCommand).length;
    expect(attempts).toBeGreaterThan(0);
    // SNS works again, but the endpoint's first alert still waits in the queue: the second goes behind it.
    expect(await handlers.notify.handler({ Records: [streamRecord(second)] }, context("Notify"))).toEqual({
      batchItemFailures: [],
    });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(attempts);
    const sent = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
    expect(sent).toHaveLength(2);
    const bodies = sent.map((input) => JSON.parse(input.MessageBody!));
    // The whole alert, not a pointer: kind, endpoint, findings and remediation ride in the message.
    expect(bodies.map((body) => body.alert.endpoint)).toEqual([PROTECTED, PROTECTED]);
    expect(bodies[0].alert.kind).toBe("newly-internet-facing");
    expect(bodies[0].alert.remediation.length).toBeGreaterThan(0);
    expect(bodies.map((body) => body.channels)).toEqual([[`sns:${TOPIC_ARN}`], [`sns:${TOPIC_ARN}`]]);
    expect(sent.map((input) => input.MessageGroupId)).toEqual([PROTECTED, PROTECTED]);
    expect(new Set(sent.map((input) => input.MessageDeduplicationId)).size).toBe(2);
    expect(sent.every((input) => input.QueueUrl === QUEUE_URL)).toBe(true);

    // notify-retry gets both in queue order (one FIFO group), publishes each once, in order.
    const fifo = fifoEvent(sent.map((input) => ({ body: input.MessageBody!, group: input.MessageGroupId! })));
    sns.resetHistory();
    expect(await handlers.retry.handler(fifo, context("NotifyRetry"))).toEqual({ batchItemFailures: [] });
    const retried = sns
      .commandCalls(PublishCommand)
      .map((call) => JSON.parse(JSON.parse(call.args[0].input.Message!).default));
    expect(retried.map((alert) => alert.id)).toEqual(bodies.map((body) => body.alert.id));
    // Handed over again (a visibility timeout after a lost delete): the ledger skips both.
    expect(await handlers.retry.handler(fifo, context("NotifyRetry"))).toEqual({ batchItemFailures: [] });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);

    // Nothing of the endpoint is owed any more: its next alert goes straight out, not to the queue.
    const third = { ...item, eventId: `retry-3-${randomUUID()}`, SK: `EVENT#${item.at}#retry3` };
    expect(await handlers.notify.handler({ Records: [streamRecord(third)] }, context("Notify"))).toEqual({
      batchItemFailures: [],
    });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(3);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(2);
  }, 60_000);

  it("notify-retry stops a FIFO group at its first failure: the later alert of the endpoint stays behind it", async () => {
    const item = (await eventItems()).find((event) => event.endpoint === OPEN)!;
    const alertOf = (eventId: string) => ({
      v: 1,
      alert: {
        ...JSON.parse(JSON.stringify(notifiedByHandler.find((a) => a.endpoint === OPEN))),
        id: `held-${eventId}`,
      },
      channels: [`sns:${TOPIC_ARN}`],
    });
    // A third message, of another endpoint's group, whose alert the ledger already lists as sent.
    const delivered = notifiedByHandler.find((a) => a.endpoint === PROTECTED)!;
    const fifo = fifoEvent([
      { body: JSON.stringify(alertOf(`a-${randomUUID()}`)), group: OPEN },
      { body: JSON.stringify(alertOf(`b-${randomUUID()}`)), group: OPEN },
      { body: JSON.stringify({ v: 1, alert: delivered, channels: [`sns:${TOPIC_ARN}`] }), group: PROTECTED },
    ]);
    expect(item).toBeDefined();
    sns.resetHistory();
    sns.on(PublishCommand).rejects(serviceError("InternalError", "SNS is having a bad day", 500));
    let response: { batchItemFailures: { itemIdentifier: string }[] };
    try {
      response = await handlers.retry.handler(fifo, context("NotifyRetry"));
    } finally {
      sns.on(PublishCommand).callsFake(async () => ({ MessageId: randomUUID() }));
    }
    // Both of the group come back: the first failed, the second was not tried (it must not overtake the
    // first); the other group's message went through.
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      fifo.Records.slice(0, 2).map((r) => r.messageId),
    );
    const tried = new Set(
      sns.commandCalls(PublishCommand).map((call) => JSON.parse(JSON.parse(call.args[0].input.Message!).default).id),
    );
    expect([...tried]).toEqual([JSON.parse(fifo.Records[0]!.body).alert.id]);
  }, 60_000);
});

/** An SQS FIFO event as Lambda hands it over: the messages in queue order with their group ids. */
function fifoEvent(messages: { body: string; group: string }[]): SQSEvent {
  return {
    Records: messages.map(({ body, group }, i) => ({
      messageId: randomUUID(),
      receiptHandle: `AQEB${randomUUID().replaceAll("-", "")}`,
      body,
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: String(Date.now()),
        SenderId: "AROAEXAMPLEROLEID:ExposureMonitor-Notify",
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        SequenceNumber: String(18_849_496_460_467_696_000 + i),
        MessageGroupId: group,
        MessageDeduplicationId: randomUUID(),
      },
      messageAttributes: {},
      md5OfBody: "0",
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:us-east-1:${org.MANAGEMENT}:ExposureMonitor-AlertRetry.fifo`,
      awsRegion: "us-east-1",
    })),
  };
}

describe("the laptop and the notify function deliver the same way", () => {
  it("the laptop's delivery path sends exactly the notifications the notify handler sent for the same events", async () => {
    expect(notifiedByHandler.length).toBeGreaterThan(0);
    const sent: Alert[] = [];
    const marks = new Set<string>();
    let watermark: string | null = null;
    // The same recorded events, read from the store since the watermark as `exposure scan` does after a cycle.
    const report = await deliverRecordedEvents({
      store,
      deliverers: [{ name: `sns:${TOPIC_ARN}`, deliver: async (alert) => void sent.push(alert) }],
      ledger: { has: async (key) => marks.has(key), mark: async (key) => void marks.add(key) },
      watermark: {
        read: async () => watermark,
        write: async (at) => {
          watermark = at;
        },
      },
    });
    const byId = (alerts: Alert[]) => [...alerts].sort((a, b) => (a.id < b.id ? -1 : 1));
    // The events read include the one the retry test below adds later: compare the handler's ones.
    const laptop = byId(sent.filter((alert) => notifiedByHandler.some((other) => other.id === alert.id)));
    expect(laptop).toEqual(byId(notifiedByHandler));
    expect(sent).toHaveLength(notifiedByHandler.length);
    expect(report.failed).toEqual([]);
    expect(watermark).not.toBeNull();
  });

  it("the laptop cycle, run on the targets enumerate queued, delivers what the handlers delivered", async () => {
    // The laptop's whole path: its own embedded store, runScanCycle (in-process queue, probeShard), then
    // deliverRecordedEvents; sockets go where the probe function's go (the mocked probe context).
    const { probeContext } = await import("../../functions/commons/probe-context.ts");
    const dir = mkdtempSync(join(tmpdir(), "exposure-laptop-cycle-"));
    const laptopStore = new SqliteExposureStore({ db: new SqliteDatabase({ path: join(dir, "store.sqlite") }) });
    try {
      const targets = shards.flatMap((shard) => shard.targets);
      const cycle = await runScanCycle({ store: laptopStore, targets, context: probeContext });
      expect(cycle.scan).toMatchObject({ targets: targets.length, completedAt: expect.any(String) });
      expect(cycle.scan.countsByState).toEqual((await store.getScan(scanId))?.countsByState);
      const sent: Alert[] = [];
      const marks = new Set<string>();
      let watermark: string | null = null;
      await deliverRecordedEvents({
        store: laptopStore,
        deliverers: [{ name: "sns", deliver: async (alert) => void sent.push(alert) }],
        ledger: { has: async (key) => marks.has(key), mark: async (key) => void marks.add(key) },
        watermark: {
          read: async () => watermark,
          write: async (at) => {
            watermark = at;
          },
        },
      });
      // Ids and times follow the observation's time; the server's uptime moves on between the two probes.
      const comparable = ({ id: _id, observedAt: _o, firstSeenAt: _f, current, ...alert }: Alert) => {
        const { uptimeSeconds: _u, ...protocol } = current.protocol;
        return { ...alert, current: { ...current, protocol } };
      };
      const byEndpoint = (alerts: Alert[]) =>
        alerts.map(comparable).sort((a, b) => (`${a.endpoint} ${a.kind}` < `${b.endpoint} ${b.kind}` ? -1 : 1));
      const handlers = notifiedByHandler.filter((alert) => alert.endpoint === OPEN || alert.endpoint === PROTECTED);
      expect(sent.map((alert) => alert.endpoint).sort()).toEqual([OPEN, PROTECTED].sort());
      expect(byEndpoint(sent)).toEqual(byEndpoint(handlers));
    } finally {
      laptopStore.db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("an acknowledgement that expires in the deployed monitor", () => {
  it("enumerate records one event for an expired acknowledgement of an exposed endpoint, once; notify pages it once", async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const acknowledge = (endpoint: string, until: number): Acknowledgement => {
      const createdAt = iso(now - 3_600_000);
      return {
        id: acknowledgementId(endpoint, createdAt),
        endpoint,
        reason: "red-team honeypot",
        author: "alice",
        createdAt,
        until: iso(until),
        revokedAt: null,
        revokedBy: null,
        expiryAlertedAt: null,
      };
    };
    const expired = acknowledge(OPEN, now - 60_000);
    await store.putAcknowledgement(expired); // expired, endpoint still exposed
    await store.putAcknowledgement(acknowledge(PROTECTED, now + 3_600_000)); // still in force
    const keyOf = (record: DynamoDBRecord) => `${record.dynamodb?.NewImage?.PK?.S}|${record.dynamodb?.NewImage?.SK?.S}`;
    const before = new Set((await tableAsStreamRecords()).map(keyOf));
    const newEvents = async () =>
      (await tableAsStreamRecords()).filter(streamFilter).filter((record) => !before.has(keyOf(record)));

    answerBatches({ failOneEntryOfFirstCall: false });
    const run = () => handlers.enumerate.handler({ scheduledTime: SCHEDULED_TIME }, context("Enumerate"));
    expect(await run()).toMatchObject({ expiryEvents: 1 });
    const recorded = await newEvents();
    expect(recorded.map((record) => record.dynamodb?.NewImage?.endpoint?.S)).toEqual([OPEN]);
    // Run again (the next schedule, or a retry): nothing more.
    expect(await run()).toMatchObject({ expiryEvents: 0 });
    expect(await newEvents()).toHaveLength(1);
    // A run that read the acknowledgement before the first one marked it: its write is refused whole.
    const recorder = new DynamoAcknowledgements({ client: dynamo.client, tableName: store.tableName });
    const event = acknowledgementExpiryEvent(expired, await store.getEndpoint(OPEN));
    expect(await recorder.recordExpiryEvent(expired, event!, iso(Date.now()))).toBe(false);
    expect(await newEvents()).toHaveLength(1);

    sns.resetHistory();
    expect(await handlers.notify.handler({ Records: recorded }, context("Notify"))).toEqual({ batchItemFailures: [] });
    const alerts = sns
      .commandCalls(PublishCommand)
      .map((call) => JSON.parse(JSON.parse(call.args[0].input.Message!).default) as Alert);
    expect(alerts.map((alert) => `${alert.endpoint} ${alert.kind} ${alert.severity}`)).toEqual([
      `${OPEN} newly-unauthenticated critical`,
    ]);
    expect(alerts[0]!.remediation[0]).toContain('acknowledgement by alice ("red-team honeypot") expired');
    // The stream hands the record over again: no second page.
    expect(await handlers.notify.handler({ Records: recorded }, context("Notify"))).toEqual({ batchItemFailures: [] });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    const acks = await store.listAcknowledgements();
    expect(acks.find((ack) => ack.endpoint === OPEN)?.expiryAlertedAt).not.toBeNull();
    expect(acks.find((ack) => ack.endpoint === PROTECTED)?.expiryAlertedAt).toBeNull();
  });
});

describe("notify with a webhook that never answers", () => {
  it("ends within its delivery budget, with the SNS copy delivered and the webhook URL in no log line", async () => {
    const hook = await startScriptedServer(["hang"], "/services/T000/B000/SECRETPATH");
    const secrets = createServer((_request, response) => {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ SecretString: hook.url }));
    });
    await new Promise<void>((resolve) => secrets.listen(0, "127.0.0.1", resolve));
    const template = synthesizeApp({
      probePorts: PORTS,
      accounts: "organization",
      regions: ["us-east-1"],
    }).monitorTemplate;
    try {
      vi.resetModules();
      const notify = await importWith(
        {
          ...stackEnvironment(template, "Notify"),
          SLACK_WEBHOOK_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:111122223333:secret:slack-AbCdEf",
          PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((secrets.address() as AddressInfo).port),
          AWS_SESSION_TOKEN: "session-token",
          LOG_LEVEL: "DEBUG",
        },
        () => import("../../functions/notify.ts"),
      );
      const item = (await eventItems()).find((event) => event.endpoint === OPEN)!;
      const fresh = { ...item, eventId: `hang-${randomUUID()}`, SK: `EVENT#${item.at}#hang` };
      const record = streamRecord(fresh);
      sns.resetHistory();
      sqs.resetHistory();
      sqs.on(SendMessageCommand).callsFake(async () => ({ MessageId: randomUUID() }));
      const mark = stdout.length;
      // 8 s left in the invocation: the budget is what remains minus the margin, about 3 s.
      const started = Date.now();
      const outcome = await notify
        .handler({ Records: [record] }, { ...context("Notify"), getRemainingTimeInMillis: () => 8_000 })
        .catch((error: Error) => error.name);
      const took = Date.now() - started;
      expect(took).toBeLessThan(8_000);
      expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
      expect(hook.requests.length).toBeGreaterThanOrEqual(1);
      // The webhook's copy is missing: the whole alert went to the retry queue for the webhook alone, and
      // the record succeeded (the stream moves on).
      expect(outcome).toEqual({ batchItemFailures: [] });
      const queued = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
      expect(queued).toHaveLength(1);
      const body = JSON.parse(queued[0]!.MessageBody!);
      expect(body.alert.endpoint).toBe(OPEN);
      expect(body.channels).toHaveLength(1);
      expect(body.channels[0]).toMatch(/^webhook:http:\/\/127\.0\.0\.1:\d+#/);
      expect(stdout.slice(mark).join("")).not.toContain("SECRETPATH");
      expect(queued[0]!.MessageBody).not.toContain("SECRETPATH");
    } finally {
      await hook.close();
      await new Promise((resolve) => secrets.close(resolve));
    }
  }, 60_000);
});

async function eventItems(): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await dynamo.client.send(
    new ScanCommand({ TableName: store.tableName, ConsistentRead: true }),
  );
  return Items.filter((item) => item.type === "event");
}

describe("cold start configuration", () => {
  it("fails at import with the name of a missing variable", async () => {
    vi.resetModules();
    await expect(
      importWith({ PROBE_SOCKET_CONCURRENCY: "500" }, () => import("../../functions/probe.ts")),
    ).rejects.toThrow(/^environment variable TABLE_NAME is required$/);
  });

  it("names an invalid value", async () => {
    vi.resetModules();
    await expect(
      importWith({ TABLE_NAME: "t", PROBE_SOCKET_CONCURRENCY: "lots" }, () => import("../../functions/probe.ts")),
    ).rejects.toThrow("environment variable PROBE_SOCKET_CONCURRENCY must be a positive whole number");
    vi.resetModules();
    await expect(
      importWith(
        {
          TABLE_NAME: "t",
          SHARD_QUEUE_URL: QUEUE_URL,
          SHARD_SIZE: "500",
          PROBE_PORTS: "6379,99999",
          MEMBER_ROLE_NAME: "ExposureMonitorReadOnly",
          EXTERNAL_ID: "exposure-monitor",
        },
        () => import("../../functions/enumerate.ts"),
      ),
    ).rejects.toThrow(/PROBE_PORTS.*port 99999/);
  });
});
