// The fast path's ledger in the monitor's table (DynamoDB Local): conditional claims that expire by their
// own ttl (DynamoDB deletes expired items late), tombstones compared with the schedule time, the armed set.
import { describe, expect, it } from "vitest";
import { DynamoFastPathLedger } from "../../shared/fastpath/ledger-dynamodb.ts";
import { useDynamoLocal } from "../helpers/dynamo.ts";

const dynamo = useDynamoLocal();

async function ledger() {
  const store = await dynamo.newStore();
  let clock = Date.parse("2026-11-25T10:00:00Z");
  const l = new DynamoFastPathLedger({ client: dynamo.client, tableName: store.tableName, now: () => clock });
  return { ledger: l, store, advance: (ms: number) => (clock += ms) };
}

describe("DynamoDB fast-path ledger", () => {
  it("a claim is taken once, concurrently too, until its ttl passes; a released claim can be taken again", async () => {
    const { ledger: l, advance } = await ledger();
    const results = await Promise.all(Array.from({ length: 8 }, () => l.claim("event:abc", 60)));
    expect(results.filter(Boolean)).toHaveLength(1);
    advance(59_000);
    expect(await l.claim("event:abc", 60)).toBe(false);
    advance(2_000);
    expect(await l.claim("event:abc", 60)).toBe(true);
    await l.release("event:abc");
    expect(await l.claim("event:abc", 60)).toBe(true);
  });

  it("a tombstone stops what was scheduled before it, not what is scheduled after", async () => {
    const { ledger: l } = await ledger();
    const scheduled = new Date("2026-11-25T09:59:00Z");
    await l.stop(["allocation:eipalloc-1", "ip:35.171.0.11"], new Date("2026-11-25T10:00:00Z"), 3_600);
    expect(await l.stoppedSince(["ip:35.171.0.11"], scheduled)).toBe(true);
    expect(await l.stoppedSince(["ip:35.171.0.12", "allocation:eipalloc-1"], scheduled)).toBe(true);
    expect(await l.stoppedSince(["ip:35.171.0.11"], new Date("2026-11-25T10:00:01Z"))).toBe(false);
    expect(await l.stoppedSince(["ip:35.171.0.12"], scheduled)).toBe(false);
    expect(await l.stoppedSince([], scheduled)).toBe(false);
  });

  it("keeps the armed set in one partition: armed, refreshed, disarmed, expired", async () => {
    const { ledger: l, store, advance } = await ledger();
    const asset = {
      provider: "aws" as const,
      accountId: "222222222222",
      region: "us-east-1",
      resourceType: "ec2-instance",
      resourceId: "i-1",
    };
    await l.arm({ host: "35.171.0.10", port: 6379, asset }, 600);
    await l.arm({ host: "2600:1f18:4a3:6a01::10", port: 6379 }, 60);
    expect((await l.armed()).map((t) => t.host).sort()).toEqual(["2600:1f18:4a3:6a01::10", "35.171.0.10"]);
    expect((await l.armed()).find((t) => t.host === "35.171.0.10")?.asset).toEqual(asset);
    await l.disarm("35.171.0.10:6379");
    advance(61_000);
    expect(await l.armed()).toEqual([]);
    // None of it is an endpoint record.
    expect(await store.getEndpoint("35.171.0.10:6379")).toBeNull();
  });
});
