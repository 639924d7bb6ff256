// Recording shards through digests (shared/store/digest.ts) on a real DynamoDB Local: the same events as
// the pure rules, under redelivery and racing writers; nothing read or written for unchanged endpoints;
// digests built from existing records; a stale or abandoned digest repaired, never trusted. (That shards
// record what the pure rules decide under redelivery and races is part of the store contract, store-contract.ts.)
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { formatEndpoint, type ProbeResult, type StateChangeEvent } from "../../shared/exposure/model.ts";
import { bucketOf, decodeEntries, seenBucketOf } from "../../shared/store/digest.ts";
import { DynamoExposureStore } from "../../shared/store/dynamo-store.ts";
import { DIGEST_SK, digestPk, SEEN_SK, seenPk } from "../../shared/store/schema.ts";
import { packHashes, seenHash } from "../../shared/store/seen.ts";
import { allItems, type ExposureStore } from "../../shared/store/store.ts";
import { useDynamoLocal } from "../helpers/dynamo.ts";
import { minutes, observation } from "../helpers/observations.ts";

const dynamodb = useDynamoLocal();

async function historyOf(store: ExposureStore, endpoint: string): Promise<StateChangeEvent[]> {
  const events: StateChangeEvent[] = [];
  for await (const event of allItems((cursor) => store.history(endpoint, cursor ? { cursor } : {}))) {
    events.push(event);
  }
  return events;
}

const endpointOf = (result: ProbeResult) => formatEndpoint(result.ip, result.port);

/** Records one shard the way probeShard does: open (one read), then record every result. */
async function recordShard(store: ExposureStore, results: ProbeResult[], scanId?: string) {
  const recorder = await store.beginShard(results.map(endpointOf), scanId ? { scanId } : {});
  return recorder.record(results);
}

/** Counts the requests a store's client sends, by command. */
function countRequests(): { counts: Record<string, number>; stop: () => void } {
  const counts: Record<string, number> = {};
  let on = true;
  const name = `count-${Math.random()}`;
  dynamodb.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (on) counts[context.commandName ?? "?"] = (counts[context.commandName ?? "?"] ?? 0) + 1;
      return next(args);
    },
    { step: "initialize", name },
  );
  return {
    counts,
    stop: () => {
      on = false;
      dynamodb.client.middlewareStack.remove(name);
    },
  };
}

describe("recording shards through digests", () => {
  it("reads one digest per bucket and writes only the seen records for a sweep where nothing changed", async () => {
    const store = await dynamodb.newStore();
    const ips = Array.from({ length: 300 }, (_, i) => `198.19.${i >> 8}.${i & 255}`);
    const sweep = (n: number) =>
      ips.map((ip, i) => observation(i % 10 === 0 ? "open-unauthenticated" : "closed", minutes(n * 15), { ip }));
    const first = await recordShard(store, sweep(0), "scan-a");
    expect(first.filter((r) => r.event).length).toBe(30);
    // Another process (a store of its own) records the next sweep.
    const other = new DynamoExposureStore({ client: dynamodb.client, tableName: store.tableName });
    const counting = countRequests();
    const second = await recordShard(other, sweep(1), "scan-b");
    counting.stop();
    expect(second.every((r) => r.outcome === "unchanged")).toBe(true);
    const buckets = new Set(ips.map((ip) => bucketOf(`${ip}:6379`))).size;
    const seenBuckets = new Set(ips.map((ip) => seenBucketOf(`${ip}:6379`))).size;
    // BatchGetItem of the digests and of the seen records (100 keys a request): no record read; the one
    // write per seen bucket is its seen record (docs/readme-store.md, "Seen records"), no record or digest.
    expect(counting.counts).toEqual({
      BatchGetItemCommand: Math.ceil(buckets / 100) + Math.ceil(seenBuckets / 100),
      PutItemCommand: seenBuckets,
    });
    // The process that wrote the seen records last does not read them again.
    const again = countRequests();
    await recordShard(other, sweep(2), "scan-c");
    again.stop();
    expect(again.counts).toEqual({ BatchGetItemCommand: Math.ceil(buckets / 100), PutItemCommand: seenBuckets });
    expect((await store.getEndpoint("198.19.0.1:6379"))?.lastObservedAt).toBe(minutes(30));
    // The confirmation of exposed endpoints comes from the digest.
    const recorder = await store.beginShard(ips.map((ip) => `${ip}:6379`));
    expect(recorder.recordedExposure("198.19.0.0:6379")).toBe("unauthenticated");
    expect(recorder.recordedExposure("198.19.0.1:6379")).toBe("none");
    expect(recorder.recordedExposure("203.0.113.200:6379")).toBeUndefined();
  }, 180_000); // 300 endpoints through DynamoDB Local: slow on a loaded machine, not a timing assertion

  it("keeps the whole digest of a bucket split across two shards: the next sweep reads no record", async () => {
    const store = await dynamodb.newStore();
    // Endpoints of one digest bucket, recorded by two shards (as a bucket at a shard boundary is).
    const ips = Array.from({ length: 2000 }, (_, i) => `198.19.${i >> 8}.${i & 255}`);
    const bucket = bucketOf(`${ips[0]}:6379`);
    const members = ips.filter((ip) => bucketOf(`${ip}:6379`) === bucket);
    expect(members.length).toBeGreaterThanOrEqual(2);
    const others = ips.filter((ip) => bucketOf(`${ip}:6379`) !== bucket).slice(0, 3);
    const shards = [[members[0]!, ...others], members.slice(1)];
    const sweep = async (n: number) => {
      for (const shard of shards) {
        await recordShard(
          store,
          shard.map((ip) => observation("closed", minutes(n * 15), { ip })),
          `scan-${n}`,
        );
      }
    };
    await sweep(0);
    const digest = (
      await dynamodb.client.send(
        new GetCommand({ TableName: store.tableName, Key: { PK: digestPk(bucket), SK: DIGEST_SK } }),
      )
    ).Item!;
    expect([...decodeEntries(String(digest.e)).keys()].sort()).toEqual(members.map((ip) => `${ip}:6379`).sort());
    const counting = countRequests();
    await sweep(1);
    counting.stop();
    // Digests and seen records read, seen records written; no record read, no digest rewritten.
    expect(Object.keys(counting.counts).sort()).toEqual(["BatchGetItemCommand", "PutItemCommand"]);
    expect(counting.counts.PutItemCommand).toBe(
      new Set(shards.flat().map((ip) => seenBucketOf(`${ip}:6379`))).size + 1,
    );
  }, 180_000);

  it("builds digests from the records of a table written before digests existed", async () => {
    const store = await dynamodb.newStore();
    const endpoint = "198.18.200.1:6379";
    await store.recordObservation(observation("auth-required", minutes(0), { ip: "198.18.200.1" }));
    const digest = async () =>
      (
        await dynamodb.client.send(
          new GetCommand({ TableName: store.tableName, Key: { PK: digestPk(bucketOf(endpoint)), SK: DIGEST_SK } }),
        )
      ).Item;
    expect(await digest()).toBeUndefined();
    const recorder = await store.beginShard([endpoint]);
    expect(recorder.recordedExposure(endpoint)).toBe("reachable");
    expect(await recorder.record([observation("auth-required", minutes(15), { ip: "198.18.200.1" })])).toEqual([
      { outcome: "unchanged" },
    ]);
    const entries = decodeEntries(String((await digest())?.e));
    expect(entries.get(endpoint)).toMatchObject({ version: 1, state: "auth-required", pendingNone: 0 });
  });

  it("a stale digest entry costs a read and is repaired, never a second event", async () => {
    const store = await dynamodb.newStore();
    const ip = "198.18.201.1";
    const endpoint = `${ip}:6379`;
    await recordShard(store, [observation("closed", minutes(0), { ip })], "s0");
    const key = { PK: digestPk(bucketOf(endpoint)), SK: DIGEST_SK };
    const read = async () =>
      (await dynamodb.client.send(new GetCommand({ TableName: store.tableName, Key: key }))).Item!;
    const before = await read();
    await recordShard(store, [observation("open-unauthenticated", minutes(15), { ip })], "s1");
    // The old digest is put back (as if the rewrite after the change had been undone).
    await dynamodb.client.send(new PutCommand({ TableName: store.tableName, Item: { ...before, rev: 99 } }));
    // The digest says closed; open is observed again: the record (open) is read, nothing is written.
    const [outcome] = await recordShard(store, [observation("open-unauthenticated", minutes(30), { ip })], "s2");
    expect(outcome).toEqual({ outcome: "unchanged" });
    expect((await historyOf(store, endpoint)).map((e) => e.current.state)).toEqual(["open-unauthenticated"]);
    expect(decodeEntries(String((await read()).e)).get(endpoint)).toMatchObject({
      state: "open-unauthenticated",
      version: 2,
    });
  });

  it("an endpoint marked by a writer that died is read from its record until the mark is cleared", async () => {
    const store = await dynamodb.newStore();
    const ip = "198.18.202.1";
    const endpoint = `${ip}:6379`;
    await recordShard(store, [observation("closed", minutes(0), { ip })], "s0");
    // recordObservation (a write outside any shard) marks the entry before it writes.
    await store.recordObservation(observation("open-unauthenticated", minutes(15), { ip }));
    const key = { PK: digestPk(bucketOf(endpoint)), SK: DIGEST_SK };
    const digest = (await dynamodb.client.send(new GetCommand({ TableName: store.tableName, Key: key }))).Item!;
    expect(Object.keys(digest.d as object)).toEqual([endpoint]);
    expect(decodeEntries(String(digest.e)).get(endpoint)?.state).toBe("closed");
    // The digest still says closed; the shard sees closed: it must read the record (open) and start resolving.
    const [outcome] = await recordShard(store, [observation("closed", minutes(30), { ip })], "s2");
    expect(outcome?.outcome).toBe("pending");
    expect((await store.getEndpoint(endpoint))?.pendingNone).toBe(1);
  });
  it("keeps every endpoint's seen time when its digest bucket gains an endpoint (a slot never moves)", async () => {
    const store = await dynamodb.newStore();
    const ips = Array.from({ length: 2000 }, (_, i) => `198.20.${i >> 8}.${i & 255}`);
    const bucket = bucketOf(`${ips[0]}:6379`);
    const [a, b, c] = ips.filter((ip) => bucketOf(`${ip}:6379`) === bucket);
    const seenAt = async (ip: string) => (await store.getEndpoint(`${ip}:6379`))?.lastObservedAt;
    await recordShard(
      store,
      [observation("closed", minutes(0), { ip: a! }), observation("closed", minutes(0), { ip: c! })],
      "s0",
    );
    // b is new and joins the bucket's digest; a is observed with it, c by a later probe of its own.
    await recordShard(
      store,
      [observation("closed", minutes(15), { ip: b! }), observation("closed", minutes(15), { ip: a! })],
      "s1",
    );
    await recordShard(store, [observation("closed", minutes(31), { ip: c! })], "s2");
    expect(await seenAt(a!)).toBe(minutes(15));
    expect(await seenAt(b!)).toBe(minutes(15));
    expect(await seenAt(c!)).toBe(minutes(31));
    // A new process reading the same records agrees.
    const other = new DynamoExposureStore({ client: dynamodb.client, tableName: store.tableName });
    expect((await other.getEndpoint(`${a}:6379`))?.lastObservedAt).toBe(minutes(15));
  }, 180_000);

  it("two shards of one process sharing a seen record write it once each, with no lost race", async () => {
    const store = await dynamodb.newStore();
    const ips = Array.from({ length: 200 }, (_, i) => `198.21.${i >> 8}.${i & 255}`);
    const sweep = (n: number, list: string[]) => list.map((ip) => observation("closed", minutes(n), { ip }));
    await recordShard(store, sweep(0, ips), "s0");
    const halves = [ips.slice(0, 100), ips.slice(100)];
    const other = new DynamoExposureStore({ client: dynamodb.client, tableName: store.tableName });
    const counting = countRequests();
    await Promise.all(halves.map((half) => recordShard(other, sweep(15, half), "s1")));
    counting.stop();
    const pairs = halves.reduce((n, half) => n + new Set(half.map((ip) => seenBucketOf(`${ip}:6379`))).size, 0);
    // A lost race would show as a put more (and a read more) than one per shard and seen bucket.
    expect(counting.counts.PutItemCommand).toBe(pairs);
    for (const ip of ips) expect((await store.getEndpoint(`${ip}:6379`))?.lastObservedAt).toBe(minutes(15));
  }, 180_000);

  it("reads seen records written before slots (hashes) and keeps them when it rewrites the record", async () => {
    const store = await dynamodb.newStore();
    // Two endpoints of one seen bucket.
    const ips = Array.from({ length: 1000 }, (_, i) => `198.22.${i >> 8}.${i & 255}`);
    const old = ips[0]!;
    const fresh = ips.find((ip) => ip !== old && seenBucketOf(`${ip}:6379`) === seenBucketOf(`${old}:6379`))!;
    await recordShard(
      store,
      [observation("closed", minutes(0), { ip: old }), observation("closed", minutes(0), { ip: fresh })],
      "s0",
    );
    const key = { PK: seenPk(seenBucketOf(`${old}:6379`)), SK: SEEN_SK };
    const legacy = { s: "s-old", t: minutes(20), h: packHashes(new Set([seenHash(`${old}:6379`)])) };
    await dynamodb.client.send(
      new PutCommand({ TableName: store.tableName, Item: { ...key, type: "seen", rev: 7, g: [legacy] } }),
    );
    const other = new DynamoExposureStore({ client: dynamodb.client, tableName: store.tableName });
    expect((await other.getEndpoint(`${old}:6379`))?.lastObservedAt).toBe(minutes(20));
    await recordShard(other, [observation("closed", minutes(30), { ip: fresh })], "s1");
    expect((await other.getEndpoint(`${old}:6379`))?.lastObservedAt).toBe(minutes(20));
    expect((await other.getEndpoint(`${fresh}:6379`))?.lastObservedAt).toBe(minutes(30));
  }, 180_000);
});
