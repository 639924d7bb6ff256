// The fast path end to end, in-process, through the Lambda handlers driven the way AWS drives them:
//   a security-group change event (CloudTrail-shaped) on the router queue -> router (resolves it through the
//   real SDK over HTTP against the fake AWS endpoint, member role assumed) -> the probes it scheduled with
//   SendMessageBatch (per-message DelaySeconds) -> fast-probe, in delay order (real probes of a real
//   redis-server on loopback, results in DynamoDB Local) -> the new event items as stream records -> notify
//   -> SNS (faked). The clock of the schedule is simulated: a message with DelaySeconds d is handled as if
//   at event time + d, so "within the re-probe schedule" is checked without waiting ten minutes.
// Where the probe goes: 35.171.0.10:6379 is the instance's public address in the fake world; the probe
// functions' ProbeContext sends its sockets to a loopback port: nothing listens there at the +0 probe
// (a refusal: Redis not started yet), the open redis-server from the +30 s probe on.
import { randomUUID } from "node:crypto";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { findRedisServer, freePort, type LabServer, LocalLab } from "../../cli/local-lab.ts";
import type { FastProbeMessage } from "../../shared/fastpath/schedule.ts";
import { ENV } from "../../shared/function-env.ts";
import type { DynamoExposureStore } from "../../shared/store/dynamo-store.ts";
import { CATALOG_CASES, cloudTrailEvent, MEMBER_ACCOUNT, STOP_EVENTS } from "../fixtures/aws/cloudtrail-events.ts";
import { type FakeAwsServer, startFakeAws } from "../fixtures/aws/fake-aws-server.ts";
import { fastPathWorld } from "../fixtures/aws/http-fastpath.ts";
import { CALLER } from "../fixtures/aws/http-organization.ts";
import { useDynamoLocal } from "../helpers/dynamo.ts";

const standIns = vi.hoisted(() => ({
  redisPort: 0,
  closedPort: 0,
  redisUp: false,
  dialed: [] as string[],
  unexpected: [] as string[],
}));
vi.mock("../../functions/commons/probe-context.ts", () => ({
  probeContext: {
    connectTo(ip: string, port: number) {
      const key = `${ip}|${port}`;
      if (
        standIns.closedPort === 0 ||
        !["35.171.0.10|6379", "35.171.0.11|6379", "2600:1f18:4a3:6a01::10|6379"].includes(key)
      ) {
        standIns.unexpected.push(key);
        throw new Error(`no loopback stand-in for ${key}`);
      }
      standIns.dialed.push(key);
      // Only the instance's IPv4 address runs Redis, once it is up; the rest refuse.
      const open = key === "35.171.0.10|6379" && standIns.redisUp;
      return { host: "127.0.0.1", port: open ? standIns.redisPort : standIns.closedPort };
    },
  },
}));

const dynamo = useDynamoLocal();
const binary = findRedisServer();
const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);
const eventBridge = mockClient(EventBridgeClient);
const stdout: string[] = [];
const QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/111111111111/ExposureMonitorFastPath-FastProbeQueue";
// IPv6 targets: the queue of the fast-probe twin in the scanner VPC (the same handler code).
const IPV6_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/111111111111/ExposureMonitorFastPath-FastProbeIpv6Queue";
const TOPIC_ARN = "arn:aws:sns:us-east-1:111111111111:ExposureMonitor-AlertTopic";

let lab: LocalLab;
let change: Record<string, unknown>;
let pendingProbe: FastProbeMessage;
let server: FakeAwsServer;
let store: DynamoExposureStore;
let handlers: {
  router: typeof import("../../functions/router.ts");
  fastProbe: typeof import("../../functions/fast-probe.ts");
  notify: typeof import("../../functions/notify.ts");
};

const context = (name: string): Context => ({
  functionName: `ExposureMonitorFastPath-${name}`,
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:us-east-1:111111111111:function:ExposureMonitorFastPath-${name}`,
  memoryLimitInMB: "1024",
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/ExposureMonitorFastPath-${name}`,
  logStreamName: "2026/11/25/[$LATEST]0123456789abcdef0123456789abcdef",
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 60_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});

function sqsEvent(bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body) => ({
      messageId: randomUUID(),
      receiptHandle: `AQEB${randomUUID().replaceAll("-", "")}`,
      body,
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: String(Date.now()),
        SenderId: "AIDAEXAMPLE",
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: "0",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:111111111111:queue",
      awsRegion: "us-east-1",
    })),
  };
}

async function importWith<T>(environment: Record<string, string>, load: () => Promise<T>): Promise<T> {
  Object.assign(process.env, environment);
  try {
    return await load();
  } finally {
    for (const name of Object.keys(environment)) delete process.env[name];
  }
}

/** The probes the router scheduled since the last call, with their delays and queues. */
function scheduled(): Array<{ delay: number; queue: string; message: FastProbeMessage }> {
  const calls = sqs.commandCalls(SendMessageBatchCommand);
  sqs.resetHistory();
  return calls.flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => ({
      delay: entry.DelaySeconds ?? 0,
      queue: call.args[0].input.QueueUrl ?? "",
      message: JSON.parse(entry.MessageBody!) as FastProbeMessage,
    })),
  );
}

const seenEvents = new Set<string>();
/** Event items written since the last call, as the INSERT stream records notify receives. */
async function newEventRecords(): Promise<DynamoDBRecord[]> {
  const { Items = [] } = await dynamo.client.send(
    new ScanCommand({ TableName: store.tableName, ConsistentRead: true }),
  );
  return Items.filter((item) => item.type === "event" && !seenEvents.has(`${item.PK}|${item.SK}`)).map((item) => {
    seenEvents.add(`${item.PK}|${item.SK}`);
    return {
      eventID: randomUUID().replaceAll("-", ""),
      eventName: "INSERT",
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: "us-east-1",
      dynamodb: {
        Keys: marshall({ PK: item.PK, SK: item.SK }) as never,
        NewImage: marshall(item, { removeUndefinedValues: true }) as never,
        SequenceNumber: String(Date.now()).padStart(21, "0"),
        StreamViewType: "NEW_IMAGE",
      },
    } as DynamoDBRecord;
  });
}

beforeAll(async () => {
  if (!binary) throw new Error("redis-server is not installed (Debian: apt-get install redis-server)");
  lab = new LocalLab(binary);
  const redis: LabServer = await lab.add("open", null);
  standIns.redisPort = redis.port;
  standIns.closedPort = await freePort();
  server = await startFakeAws(fastPathWorld());
  store = await dynamo.newStore();
  sqs.on(SendMessageBatchCommand).callsFake(async (input: { Entries?: { Id?: string }[] }) => ({
    Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: randomUUID(), MD5OfMessageBody: "0" })),
    Failed: [],
  }));
  sns.on(PublishCommand).callsFake(async () => ({ MessageId: randomUUID() }));
  eventBridge
    .on(PutEventsCommand)
    .callsFake(async () => ({ FailedEntryCount: 0, Entries: [{ EventId: randomUUID() }] }));
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: CALLER.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CALLER.secretAccessKey,
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ENDPOINT_URL: server.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.dynamo.endpoint,
    POWERTOOLS_TRACE_ENABLED: "false",
    LOG_LEVEL: "ERROR",
  });
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  const common = { [ENV.tableName]: store.tableName };
  handlers = {
    router: await importWith(
      {
        ...common,
        [ENV.fastProbeQueueUrl]: QUEUE_URL,
        [ENV.fastProbeIpv6QueueUrl]: IPV6_QUEUE_URL,
        [ENV.probePorts]: "6379",
        [ENV.memberRoleName]: "ExposureMonitorReadOnly",
        [ENV.externalId]: "exposure-monitor-ext",
        [ENV.accounts]: "organization",
      },
      () => import("../../functions/router.ts"),
    ),
    fastProbe: await importWith(
      { ...common, [ENV.probeSocketConcurrency]: "64" },
      () => import("../../functions/fast-probe.ts"),
    ),
    notify: await importWith(
      {
        ...common,
        [ENV.alertTopicArn]: TOPIC_ARN,
        [ENV.eventBusName]: "exposure-monitor-events",
        [ENV.alertRetryQueueUrl]: "https://sqs.us-east-1.amazonaws.com/111111111111/alert-retry.fifo",
      },
      () => import("../../functions/notify.ts"),
    ),
  };
}, 120_000);

afterAll(async () => {
  vi.restoreAllMocks();
  sqs.restore();
  sns.restore();
  eventBridge.restore();
  await server?.close();
  await lab?.close();
});

/** EMF values of one metric printed since `from`. */
function metricValues(name: string, from: number): number[] {
  const values: number[] = [];
  for (const line of stdout.slice(from).join("").split("\n")) {
    if (!line.includes('"_aws"') || !line.includes(name)) continue;
    const doc = JSON.parse(line) as Record<string, unknown>;
    for (const value of [doc[name]].flat()) values.push(Number(value));
  }
  return values;
}

describe("the fast path through the Lambda handlers", () => {
  it("a security-group change that opens 6379 on an instance whose Redis comes up a little later alerts critical within the schedule", async () => {
    // The change happened "now": its probes run at event time + their delay.
    const eventTime = new Date(Math.floor(Date.now() / 1000) * 1000);
    change = {
      ...CATALOG_CASES.AuthorizeSecurityGroupIngress!.event,
      id: randomUUID(),
      time: eventTime.toISOString(),
      detail: { ...CATALOG_CASES.AuthorizeSecurityGroupIngress!.event.detail, eventTime: eventTime.toISOString() },
    };
    const routed = await handlers.router.handler(sqsEvent([JSON.stringify(change)]), context("Router"));
    expect(routed.batchItemFailures).toEqual([]);
    const probes = scheduled().sort((a, b) => a.delay - b.delay);
    const hostsOn = (queue: string) =>
      new Set(probes.filter((p) => p.queue === queue).flatMap((p) => p.message.targets.map((t) => t.host)));
    // Each family on its own queue (IPv6 to the scanner VPC's twin), each at every step of the schedule,
    // the two halves of a step under one probe id.
    expect(hostsOn(QUEUE_URL)).toEqual(new Set(["35.171.0.10", "35.171.0.11"]));
    expect(hostsOn(IPV6_QUEUE_URL)).toEqual(new Set(["2600:1f18:4a3:6a01::10"]));
    for (const queue of [QUEUE_URL, IPV6_QUEUE_URL]) {
      expect(probes.filter((p) => p.queue === queue).map((p) => p.delay)).toEqual([0, 30, 120, 600]);
    }
    const ids = (queue: string) => probes.filter((p) => p.queue === queue).map((p) => p.message.probeId);
    expect(ids(IPV6_QUEUE_URL)).toEqual(ids(QUEUE_URL));
    for (const probe of probes.filter((p) => p.queue === IPV6_QUEUE_URL)) {
      expect(Object.keys(probe.message.stopKeys)).toEqual(["2600:1f18:4a3:6a01::10"]);
    }
    pendingProbe = probes.filter((p) => p.queue === QUEUE_URL)[3]!.message;
    // Owners travel with the targets.
    expect(probes[0]!.message.targets.find((t) => t.host === "35.171.0.10")?.asset).toMatchObject({
      accountId: MEMBER_ACCOUNT,
      resourceType: "ec2-instance",
      resourceId: "i-0aa0000000000001",
    });

    let alertedAtDelay: number | null = null;
    const mark = stdout.length;
    for (const probe of probes) {
      // Redis starts between the +0 and the +30 s probe (the change came first).
      if (probe.delay >= 30) standIns.redisUp = true;
      const done = await handlers.fastProbe.handler(sqsEvent([JSON.stringify(probe.message)]), context("FastProbe"));
      expect(done.batchItemFailures).toEqual([]);
      const records = await newEventRecords();
      if (records.length === 0) continue;
      const notified = await handlers.notify.handler({ Records: records } as DynamoDBStreamEvent, context("Notify"));
      expect(notified.batchItemFailures).toEqual([]);
      const critical = sns
        .commandCalls(PublishCommand)
        .map((call) => call.args[0].input)
        .filter(
          (input) => /35\.171\.0\.10:6379/.test(String(input.Message)) && /critical/i.test(JSON.stringify(input)),
        );
      if (critical.length > 0 && alertedAtDelay === null) alertedAtDelay = probe.delay;
    }
    expect(standIns.unexpected).toEqual([]);
    // The +0 probe found the port refusing (the path is open, Redis not yet up); the +30 s one alerts.
    expect(alertedAtDelay).toBe(30);
    const state = await store.getEndpoint("35.171.0.10:6379");
    expect(state?.state).toBe("open-unauthenticated");
    expect(state?.asset?.resourceId).toBe("i-0aa0000000000001");
    // The latency metric: from the change to the delivered alert, here (simulated) 30 s plus real processing.
    const latencies = metricValues("FastPathEventToAlertMs", mark);
    expect(latencies.length).toBeGreaterThan(0);
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(0);
    // One critical alert for the endpoint, however many probes saw it open.
    const published = sns
      .commandCalls(PublishCommand)
      .filter((call) => /35\.171\.0\.10:6379/.test(String(call.args[0].input.Message)));
    expect(
      published.filter((call) => /newly-unauthenticated|unauthenticated/i.test(JSON.stringify(call.args[0].input)))
        .length,
    ).toBe(1);
  }, 180_000);

  it("a replayed event (the same event id, later) schedules nothing and adds no alert", async () => {
    const before = sns.commandCalls(PublishCommand).length;
    const out = await handlers.router.handler(
      sqsEvent([JSON.stringify(change), JSON.stringify(change)]),
      context("Router"),
    );
    expect(out.batchItemFailures).toEqual([]);
    expect(scheduled()).toEqual([]);
    expect(await newEventRecords()).toEqual([]);
    expect(sns.commandCalls(PublishCommand).length).toBe(before);
  }, 120_000);

  it("ReleaseAddress stops the pending probes of that address; an unreadable account is counted, not dropped", async () => {
    // The +10 min probe of the security-group change is still pending when the Elastic IP is released.
    await handlers.router.handler(
      sqsEvent([JSON.stringify({ ...STOP_EVENTS.ReleaseAddress, id: randomUUID() })]),
      context("Router"),
    );
    standIns.dialed.length = 0;
    await handlers.fastProbe.handler(sqsEvent([JSON.stringify(pendingProbe)]), context("FastProbe"));
    // Its allocation's tombstone drops 35.171.0.11; the instance's own addresses are still probed.
    expect(standIns.dialed).not.toContain("35.171.0.11|6379");
    expect(standIns.dialed).toContain("35.171.0.10|6379");

    const mark = stdout.length;
    const denied = cloudTrailEvent(
      "aws.ec2",
      "ModifyInstanceAttribute",
      { instanceId: "i-1", groupSet: { items: [] } },
      {},
      {
        account: "333333333333",
        id: randomUUID(),
      },
    );
    const out = await handlers.router.handler(sqsEvent([JSON.stringify(denied)]), context("Router"));
    expect(out.batchItemFailures).toEqual([]);
    expect(metricValues("FastPathUnreadable", mark)).toEqual([1]);
  }, 120_000);
});
