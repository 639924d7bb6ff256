// The scan cycle's domain between the functions (shared/scan/shards.ts, sqs-shard-queue.ts): shard sizes
// against SQS's limits, the message format, the SQS batch sender, starting a scan (and starting it again),
// and one shard's probing against DynamoDB Local.
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { SHARD_SIZE } from "../../infra/sizing.ts";
import type { ProbeResult, Target } from "../../shared/exposure/model.ts";
import { exposureOf, formatEndpoint } from "../../shared/exposure/model.ts";
import type { ProbeFunction } from "../../shared/probe/adaptive.ts";
import { LOCAL_SHARD_LIMITS, LOCAL_SHARD_TARGETS } from "../../shared/scan/local-cycle.ts";
import {
  encodeShardMessage,
  ProbeErrorLimitError,
  parseShardMessage,
  probeShard,
  type ShardMessage,
  ShardMessageError,
  type ShardQueue,
  SQS_MAX_MESSAGE_BYTES,
  scanIdForSchedule,
  splitIntoShards,
  startScanCycle,
  UnknownScanError,
} from "../../shared/scan/shards.ts";
import { batchesOf, ShardQueueError, SqsShardQueue } from "../../shared/scan/sqs-shard-queue.ts";
import { useDynamoLocal } from "../helpers/dynamo.ts";

const bytes = (text: string) => Buffer.byteLength(text, "utf8");
/** Characters SQS accepts in a message body (the XML 1.0 character set). */
const SQS_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function target(i: number, tags?: Record<string, string>): Target {
  return {
    host: `54.240.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`,
    port: 6379,
    asset: {
      provider: "aws",
      accountId: "111111111111",
      region: "eu-west-1",
      resourceType: "ec2-instance",
      resourceId: `i-0${i.toString(16).padStart(16, "0")}`,
      name: `cache-${i}`,
      ...(tags ? { tags } : {}),
    },
  };
}

describe("splitting targets into shards", () => {
  it("on a laptop, 10,000 targets are one shard: the in-process queue has no message size limit", () => {
    const targets = Array.from({ length: LOCAL_SHARD_TARGETS + 1 }, (_, i) => target(i));
    // As SQS messages these would be several shards, each probed after the other on a laptop.
    expect(splitIntoShards("scan-x", targets, { maxTargets: LOCAL_SHARD_TARGETS }).length).toBeGreaterThan(2);
    const shards = splitIntoShards("scan-x", targets, LOCAL_SHARD_LIMITS);
    expect(shards.map((shard) => shard.targets.length)).toEqual([LOCAL_SHARD_TARGETS, 1]);
  });

  it("SHARD_SIZE targets with ordinary owners make one message well under SQS's limit", () => {
    const ordinary = {
      Name: "payments-cache-primary",
      Team: "payments",
      Environment: "production",
      CostCenter: "cc-4711",
    };
    const targets = Array.from({ length: 2 * SHARD_SIZE + 7 }, (_, i) => target(i, ordinary));
    const shards = splitIntoShards("scan-20261122T043000Z-abcdef", targets, { maxTargets: SHARD_SIZE });
    expect(shards.map((shard) => shard.targets.length)).toEqual([SHARD_SIZE, SHARD_SIZE, 7]);
    expect(shards.map((shard) => shard.shardId)).toEqual(["1/3", "2/3", "3/3"]);
    const largest = Math.max(...shards.map((shard) => bytes(encodeShardMessage(shard))));
    // ~330 bytes a target: a full shard is ~165 KB of the 256 KiB.
    expect(largest).toBeLessThan(0.7 * SQS_MAX_MESSAGE_BYTES);
    expect(shards.flatMap((shard) => shard.targets)).toEqual(targets);
  });

  it("targets with EC2's largest tag sets (50 tags, 128/256 four-byte characters) split by bytes, never past 256 KiB", () => {
    const astral = "\u{1F512}";
    const largestTags = Object.fromEntries(
      Array.from({ length: 50 }, (_, t) => [`${t}`.padStart(2, "0") + astral.repeat(126), astral.repeat(256)]),
    );
    const targets = Array.from({ length: 12 }, (_, i) => target(i, largestTags));
    const one = bytes(JSON.stringify(targets[0]));
    expect(one).toBeGreaterThan(70_000); // the worst case EC2 allows: ~77 KB a target, 3 a message
    const shards = splitIntoShards("scan-x", targets, { maxTargets: SHARD_SIZE });
    expect(shards.map((shard) => shard.targets.length)).toEqual([3, 3, 3, 3]);
    for (const shard of shards) expect(bytes(encodeShardMessage(shard))).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    expect(shards.flatMap((shard) => shard.targets)).toEqual(targets);
  });

  it("counts bytes exactly: a limit of exactly k targets' message holds k, one byte less holds k - 1", () => {
    const targets = Array.from({ length: 30 }, (_, i) => target(i, { Note: "\uFFFF é ✓".repeat(i) }));
    for (const k of [1, 2, 7, 19]) {
      // The longest shard id a scan can have: what the split reserves room for.
      const exact = bytes(
        encodeShardMessage({ scanId: "scan-x", shardId: "999999/999999", targets: targets.slice(0, k) }),
      );
      expect(splitIntoShards("scan-x", targets, { maxTargets: 100, maxBytes: exact })[0]?.targets).toHaveLength(k);
      expect(splitIntoShards("scan-x", targets, { maxTargets: 100, maxBytes: exact - 1 })[0]?.targets).toHaveLength(
        k - 1 || 1,
      );
    }
  });

  it("a target larger than a message on its own travels without its tags", () => {
    const huge = target(1, { Blob: "x".repeat(SQS_MAX_MESSAGE_BYTES) });
    const [shard] = splitIntoShards("scan-x", [target(0), huge, target(2)], { maxTargets: 10 });
    expect(shard?.targets.map((t) => t.asset?.tags)).toEqual([undefined, undefined, undefined]);
    expect(shard?.targets[1]?.asset).toMatchObject({ name: "cache-1", resourceId: huge.asset?.resourceId });
    expect(bytes(encodeShardMessage(shard!))).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
  });

  it("property: every shard fits its byte and count limits, is valid for SQS and parses back to the targets", () => {
    const tagText = fc.oneof(
      fc.string({ unit: "binary", maxLength: 256 }),
      fc.constantFrom("\uFFFF\uFFFE", "\u0000\u001f", "\uD800 lone", "\u{10FFFF}"),
    );
    const tags = fc.option(
      fc.dictionary(fc.string({ unit: "binary", minLength: 1, maxLength: 128 }), tagText, { maxKeys: 50 }),
      {
        nil: undefined,
      },
    );
    fc.assert(
      fc.property(
        fc.array(tags, { maxLength: 40 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 40_000, max: SQS_MAX_MESSAGE_BYTES }),
        (tagSets, maxTargets, maxBytes) => {
          const targets = tagSets.map((t, i) => target(i, t));
          const shards = splitIntoShards("scan-20261122T043000Z-abcdef", targets, { maxTargets, maxBytes });
          const back: Target[] = [];
          shards.forEach((shard, index) => {
            const body = encodeShardMessage(shard);
            expect(bytes(body)).toBeLessThanOrEqual(maxBytes);
            expect(shard.targets.length).toBeLessThanOrEqual(maxTargets);
            expect(shard.shardId).toBe(`${index + 1}/${shards.length}`);
            expect(SQS_INVALID.test(body)).toBe(false);
            back.push(...parseShardMessage(body).targets);
          });
          expect(back.length).toBe(targets.length);
          back.forEach((received, i) => {
            const sent = targets[i]!;
            const { tags: sentTags, ...sentRest } = sent.asset!;
            const { tags: receivedTags, ...receivedRest } = received.asset!;
            expect({ ...received, asset: receivedRest }).toEqual({ ...sent, asset: sentRest });
            // Tags arrive exactly, or (only for a target too big for any message) not at all.
            if (receivedTags !== undefined) expect(receivedTags).toEqual(sentTags);
            else if (sentTags !== undefined) expect(bytes(JSON.stringify(sent))).toBeGreaterThan(maxBytes - 200);
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("shard messages", () => {
  const shard: ShardMessage = {
    scanId: "scan-1",
    shardId: "1/2",
    targets: [target(0), { host: "2600:1f18::1", port: 6380 }],
  };

  it("parses what was encoded", () => {
    expect(parseShardMessage(encodeShardMessage(shard))).toEqual(shard);
  });

  it.each([
    ["not JSON", "{scanId:", "not JSON"],
    ["no scan id", JSON.stringify({ ...shard, scanId: "" }), "no scanId"],
    ["a bad shard id", JSON.stringify({ ...shard, shardId: "first" }), "no shardId"],
    ["a shard number past the count", JSON.stringify({ ...shard, shardId: "3/2" }), "1 <= n <= count"],
    ["shard zero", JSON.stringify({ ...shard, shardId: "0/2" }), "1 <= n <= count"],
    ["a count of zero", JSON.stringify({ ...shard, shardId: "0/0" }), "1 <= n <= count"],
    ["no targets", JSON.stringify({ ...shard, targets: null }), "no targets"],
    ["a bad port", JSON.stringify({ ...shard, targets: [{ host: "54.240.0.1", port: 70000 }] }), "malformed target"],
    ["a host name", JSON.stringify({ ...shard, targets: [{ host: "example.com", port: 6379 }] }), "not a public IP"],
    ["loopback", JSON.stringify({ ...shard, targets: [{ host: "127.0.0.1", port: 9001 }] }), "not a public IP"],
    ["link-local", JSON.stringify({ ...shard, targets: [{ host: "169.254.169.254", port: 80 }] }), "not a public IP"],
    ["private", JSON.stringify({ ...shard, targets: [{ host: "10.0.0.5", port: 6379 }] }), "not a public IP"],
  ])("refuses a message with %s", (_, body, message) => {
    expect(() => parseShardMessage(body)).toThrow(ShardMessageError);
    expect(() => parseShardMessage(body)).toThrow(message);
  });

  it("gives one scheduled run one scan id, whatever the time's spelling", () => {
    const id = scanIdForSchedule("2026-11-22T04:30:00Z");
    expect(id).toMatch(/^scan-20261122T043000Z-[0-9a-f]{6}$/);
    expect(scanIdForSchedule("2026-11-22T04:30:00.000Z")).toBe(id);
    expect(scanIdForSchedule("2026-11-22T04:45:00Z")).not.toBe(id);
    expect(() => scanIdForSchedule("soon")).toThrow(RangeError);
  });
});

describe("the SQS shard queue", () => {
  const sqs = mockClient(SQSClient);
  const client = new SQSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  const queueUrl = "https://sqs.eu-west-1.amazonaws.com/111111111111/ShardQueue";
  const shards = (n: number, perShard = 1) =>
    splitIntoShards(
      "scan-1",
      Array.from({ length: n * perShard }, (_, i) => target(i)),
      { maxTargets: perShard },
    );
  const accepted: string[] = [];
  const ok = (entries: SendMessageBatchRequestEntry[]) =>
    entries.map((entry) => {
      accepted.push(JSON.parse(entry.MessageBody!).shardId);
      return { Id: entry.Id, MessageId: `m-${entry.Id}`, MD5OfMessageBody: "0" };
    });

  beforeEach(() => {
    sqs.reset();
    accepted.length = 0;
  });
  afterAll(() => sqs.restore());

  it("sends ten entries a call and at most 256 KiB of bodies a call", () => {
    const small = Array.from({ length: 23 }, (_, i) => ({ body: "x".repeat(100), i }));
    expect(batchesOf(small).map((batch) => batch.length)).toEqual([10, 10, 3]);
    const large = Array.from({ length: 5 }, () => ({ body: "x".repeat(100_000) }));
    expect(batchesOf(large).map((batch) => batch.length)).toEqual([2, 2, 1]);
  });

  it("sends again only the entries that failed, until every shard is accepted once", async () => {
    let call = 0;
    sqs.on(SendMessageBatchCommand).callsFake(async (input: { Entries: SendMessageBatchRequestEntry[] }) => {
      call++;
      // First call: entries 2 and 7 fail on the server side; everything else is accepted.
      const failing = call === 1 ? input.Entries.filter((e) => e.Id === "2" || e.Id === "7") : [];
      return {
        Successful: ok(input.Entries.filter((e) => !failing.includes(e))),
        Failed: failing.map((e) => ({ Id: e.Id, SenderFault: false, Code: "InternalError", Message: "try again" })),
      };
    });
    const messages = shards(25);
    await new SqsShardQueue({ client, queueUrl, backoffMs: () => 1 }).send(messages);
    expect(accepted.sort()).toEqual(messages.map((m) => m.shardId).sort());
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 5, 2]);
    expect(calls.every((c) => c.args[0].input.QueueUrl === queueUrl)).toBe(true);
  });

  it("sends a whole call again after it failed (throttled past the SDK's retries)", async () => {
    let call = 0;
    sqs.on(SendMessageBatchCommand).callsFake(async (input: { Entries: SendMessageBatchRequestEntry[] }) => {
      call++;
      if (call === 1) throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
      return { Successful: ok(input.Entries), Failed: [] };
    });
    const messages = shards(3);
    await new SqsShardQueue({ client, queueUrl, backoffMs: () => 1 }).send(messages);
    expect(accepted.sort()).toEqual(messages.map((m) => m.shardId).sort());
  });

  it("fails at once on an entry SQS blames on the sender, and after its rounds on one that keeps failing", async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: "0", SenderFault: true, Code: "InvalidMessageContents", Message: "bad character" }],
    });
    await expect(new SqsShardQueue({ client, queueUrl }).send(shards(1))).rejects.toThrow(
      "SQS refused shard 1/1: InvalidMessageContents: bad character",
    );
    sqs.reset();
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: "0", SenderFault: false, Code: "InternalError", Message: "try again" }],
    });
    const queue = new SqsShardQueue({ client, queueUrl, attempts: 3, backoffMs: () => 1 });
    await expect(queue.send(shards(1))).rejects.toThrow(ShardQueueError);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });
});

describe("starting a scan and probing a shard (DynamoDB Local)", () => {
  const dynamo = useDynamoLocal();
  const coverage = { accountsRead: ["111111111111"], regionsRead: ["eu-west-1"], gaps: [] };
  const sent: ShardMessage[][] = [];
  const queue: ShardQueue = {
    async send(messages) {
      sent.push([...messages]);
    },
  };
  beforeEach(() => {
    sent.length = 0;
  });

  it("starts, resumes, restarts and leaves a complete scan alone", async () => {
    const store = await dynamo.newStore();
    let targets = Array.from({ length: 5 }, (_, i) => target(i));
    const start = () =>
      startScanCycle({
        scanId: "scan-20261122T043000Z-aaaaaa",
        readInventory: async () => ({ targets, summary: coverage }),
        store,
        queue,
        shardLimits: { maxTargets: 2 },
        newScanId: () => "scan-20261122T043001Z-bbbbbb",
      });
    const first = await start();
    expect(first).toMatchObject({ status: "started", shardsQueued: 3, completed: false });
    expect(first.scan).toMatchObject({ targets: 5, shards: 3, shardsDone: 0, accountsRead: ["111111111111"] });
    expect(sent[0]?.map((m) => m.shardId)).toEqual(["1/3", "2/3", "3/3"]);

    // The schedule retried the invocation: same scan, the same shards again.
    const again = await start();
    expect(again).toMatchObject({ status: "resumed", shardsQueued: 3 });
    expect(sent[1]).toEqual(sent[0]);

    // Retried after the inventory changed (7 targets = 4 shards): the recorded scan cannot take them.
    targets = Array.from({ length: 7 }, (_, i) => target(i));
    const changed = await start();
    expect(changed).toMatchObject({ status: "restarted", replacedScanId: "scan-20261122T043000Z-aaaaaa" });
    expect(changed.scan).toMatchObject({ scanId: "scan-20261122T043001Z-bbbbbb", targets: 7, shards: 4 });
    expect(sent[2]?.every((m) => m.scanId === "scan-20261122T043001Z-bbbbbb")).toBe(true);

    for (const shardId of ["1/3", "2/3", "3/3"]) {
      await store.recordShard({ scanId: "scan-20261122T043000Z-aaaaaa", shardId, countsByState: { closed: 1 } });
    }
    targets = Array.from({ length: 5 }, (_, i) => target(i));
    expect(await start()).toMatchObject({ status: "already-complete", shardsQueued: 0, completed: false });
    expect(sent).toHaveLength(3);
  });

  it("a scan with no targets is complete at once, and says so once", async () => {
    const store = await dynamo.newStore();
    const start = () =>
      startScanCycle({
        scanId: "scan-empty",
        readInventory: async () => ({ targets: [], summary: coverage }),
        store,
        queue,
        shardLimits: { maxTargets: 500 },
      });
    const first = await start();
    expect(first).toMatchObject({ status: "started", completed: true, shardsQueued: 0 });
    expect(first.scan.completedAt).not.toBeNull();
    expect(await start()).toMatchObject({ status: "already-complete", completed: false });
  });

  /** A stand-in for the single-target probe: what each endpoint answers, and the timeouts it was given. */
  function fakeProbe(states: Record<string, ProbeResult["state"] | "probe-error">, errorCode = "EMFILE") {
    const timeouts = new Map<string, number[]>();
    const probe: ProbeFunction = async (t, options) => {
      const endpoint = formatEndpoint(t.host, t.port);
      timeouts.set(endpoint, [...(timeouts.get(endpoint) ?? []), options.connectTimeoutMs ?? -1]);
      const state = states[endpoint] ?? "closed";
      if (state === "probe-error") {
        return {
          target: endpoint,
          ip: t.host,
          port: t.port,
          state,
          exposure: null,
          probeError: { code: errorCode, reason: `probe error ${errorCode}` },
          reply: `(probe error: ${errorCode})`,
          durationMs: 0,
          observedAt: new Date().toISOString(),
        };
      }
      return {
        target: endpoint,
        ip: t.host,
        port: t.port,
        state,
        exposure: exposureOf(state),
        tls: false,
        protocol: { name: "redis" },
        findings: [],
        reply: "",
        durationMs: state === "filtered" ? (options.connectTimeoutMs ?? 0) : 1,
        observedAt: new Date().toISOString(),
        ...(t.asset ? { asset: t.asset } : {}),
      };
    };
    return { probe, timeouts };
  }

  it("confirms an endpoint exposed at its last observation at the long timeout before calling it filtered", async () => {
    const store = await dynamo.newStore();
    const targets = [target(0), target(1), target(2)];
    const [exposed, silent] = targets.map((t) => formatEndpoint(t.host, t.port));
    const scanShards = async (scanId: string, states: Record<string, ProbeResult["state"]>) => {
      const [shard] = splitIntoShards(scanId, targets, { maxTargets: 10 });
      await store.startScan({ scanId, targets: targets.length, shards: 1 });
      const fake = fakeProbe(states);
      const outcome = await probeShard(shard!, {
        store,
        probeTarget: fake.probe,
        probe: { floorMs: 5, initialTimeoutMs: 20, ceilingMs: 300, minAttempts: 1, maxAttempts: 2 },
      });
      return { outcome, timeouts: fake.timeouts };
    };
    const first = await scanShards("scan-a", { [exposed!]: "auth-required", [silent!]: "filtered" });
    expect(first.outcome).toMatchObject({ counted: true, completed: true, probes: 3 });
    expect(first.outcome.events.map((e) => `${e.endpoint} ${e.alerts.join(",")}`)).toEqual([
      `${exposed} newly-internet-facing`,
    ]);
    // Never exposed: no confirmation at the ceiling.
    expect(first.timeouts.get(silent!)).not.toContain(300);

    // Now both are silent: the formerly exposed one gets a last attempt at the ceiling.
    const second = await scanShards("scan-b", { [exposed!]: "filtered", [silent!]: "filtered" });
    expect(second.timeouts.get(exposed!)?.at(-1)).toBe(300);
    expect(second.timeouts.get(silent!)).not.toContain(300);
    expect(second.outcome.countsByState).toEqual({ filtered: 2, closed: 1 });
  });

  it("never records a probe error: counted as a gap, the endpoint keeps its recorded state", async () => {
    const store = await dynamo.newStore();
    const targets = Array.from({ length: 10 }, (_, i) => target(i));
    const first = formatEndpoint(targets[0]!.host, 6379);
    const scan = async (scanId: string, states: Record<string, ProbeResult["state"] | "probe-error">) => {
      const [shard] = splitIntoShards(scanId, targets, { maxTargets: 10 });
      await store.startScan({ scanId, targets: targets.length, shards: 1 });
      return probeShard(shard!, { store, probeTarget: fakeProbe(states).probe, probe: { floorMs: 5, ceilingMs: 50 } });
    };
    await scan("scan-e1", { [first]: "open-unauthenticated" });
    // One target in ten (the limit is a tenth) could not be probed: nothing about it is recorded.
    const outcome = await scan("scan-e2", { [first]: "probe-error" });
    expect(outcome.countsByState).toEqual({ "probe-error": 1, closed: 9 });
    expect(outcome.probeErrors).toEqual({ EMFILE: 1 });
    expect(outcome.events).toEqual([]);
    expect(outcome.scan.countsByState).toEqual({ "probe-error": 1, closed: 9 });
    expect(await store.getEndpoint(first)).toMatchObject({ state: "open-unauthenticated" });
    expect((await store.history(first)).items).toHaveLength(1);
  });

  it("fails a shard whose probe errors pass the limit, recording nothing (SQS retries it, then dead-letters it)", async () => {
    const store = await dynamo.newStore();
    const targets = Array.from({ length: 10 }, (_, i) => target(i));
    const states = Object.fromEntries(
      targets.slice(0, 2).map((t) => [formatEndpoint(t.host, 6379), "probe-error" as const]),
    );
    const [shard] = splitIntoShards("scan-e3", targets, { maxTargets: 10 });
    await store.startScan({ scanId: "scan-e3", targets: targets.length, shards: 1 });
    await expect(
      probeShard(shard!, { store, probeTarget: fakeProbe(states).probe, probe: { floorMs: 5, ceilingMs: 50 } }),
    ).rejects.toThrow(ProbeErrorLimitError);
    expect(await store.getScan("scan-e3")).toMatchObject({ shardsDone: 0, completedAt: null });
    expect(await store.getEndpoint(formatEndpoint(targets[5]!.host, 6379))).toBeNull();

    // No route for an address family (a runtime without IPv6) is a counted gap, never a failed shard.
    const [routeless] = splitIntoShards("scan-e4", targets, { maxTargets: 10 });
    await store.startScan({ scanId: "scan-e4", targets: targets.length, shards: 1 });
    const outcome = await probeShard(routeless!, {
      store,
      probeTarget: fakeProbe(states, "ENETUNREACH").probe,
      probe: { floorMs: 5, ceilingMs: 50 },
    });
    expect(outcome.countsByState).toEqual({ "probe-error": 2, closed: 8 });
    expect(outcome.probeErrors).toEqual({ ENETUNREACH: 2 });
    expect(await store.getEndpoint(formatEndpoint(targets[5]!.host, 6379))).toMatchObject({ state: "closed" });
  });

  it("refuses a shard of an unknown scan and skips one of a finished scan", async () => {
    const store = await dynamo.newStore();
    const [shard] = splitIntoShards("scan-unknown", [target(0)], { maxTargets: 10 });
    const fake = fakeProbe({});
    await expect(probeShard(shard!, { store, probeTarget: fake.probe })).rejects.toThrow(UnknownScanError);
    await store.startScan({ scanId: "scan-unknown", targets: 1, shards: 1 });
    expect(await probeShard(shard!, { store, probeTarget: fake.probe })).toMatchObject({
      counted: true,
      completed: true,
    });
    const late = await probeShard(shard!, { store, probeTarget: fake.probe });
    expect(late).toMatchObject({ skipped: "scan-complete", probes: 0, counted: false, completed: false });
    expect(fake.timeouts.get(formatEndpoint(shard!.targets[0]!.host, 6379))).toHaveLength(1);
  });
});
