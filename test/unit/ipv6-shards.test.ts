// IPv6 in AWS, the code side: shards never mix address families, IPv6 shards go to their own queue, and
// the IPv6 probe function's self-test connection proves its path (over loopback ::1 here).
import { createServer, type Server } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import type { Target } from "../../shared/exposure/model.ts";
import { ipv6SelfTest, parseSelfTestTarget, SelfTestError } from "../../shared/probe/self-test.ts";
import {
  FamilyShardQueue,
  isIpv6Shard,
  type ShardMessage,
  type ShardQueue,
  splitIntoShards,
} from "../../shared/scan/shards.ts";

const v4 = (i: number): Target => ({ host: `3.80.20.${i}`, port: 6379 });
const v6 = (i: number): Target => ({ host: `2600:1f18::${i.toString(16)}`, port: 6379 });

function recordingQueue(): ShardQueue & { sent: ShardMessage[] } {
  const sent: ShardMessage[] = [];
  return {
    sent,
    async send(messages) {
      sent.push(...messages);
    },
  };
}

describe("shards by address family", () => {
  it("never puts IPv4 and IPv6 targets in one shard, and keeps positional ids over all shards", () => {
    const shards = splitIntoShards("scan-x", [v4(1), v4(2), v4(3), v6(1), v6(2)], { maxTargets: 2 });
    expect(shards.map((shard) => [shard.shardId, shard.targets.map((t) => t.host)])).toEqual([
      ["1/3", ["3.80.20.1", "3.80.20.2"]],
      ["2/3", ["3.80.20.3"]],
      ["3/3", ["2600:1f18::1", "2600:1f18::2"]],
    ]);
    expect(shards).toHaveLength(3);
    expect(shards.map(isIpv6Shard)).toEqual([false, false, true]);
  });

  it("sends IPv6 shards to the IPv6 queue and the rest to the first; without one, all to the first", async () => {
    const shards = splitIntoShards("scan-y", [v4(1), v6(1), v4(2)], { maxTargets: 10 });
    expect(shards.map((shard) => shard.targets.length)).toEqual([1, 1, 1]);
    const ipv4 = recordingQueue();
    const ipv6 = recordingQueue();
    await new FamilyShardQueue(ipv4, ipv6).send(shards);
    expect(ipv4.sent.map((shard) => shard.shardId)).toEqual(["1/3", "3/3"]);
    expect(ipv6.sent.map((shard) => shard.shardId)).toEqual(["2/3"]);
    const only = recordingQueue();
    await new FamilyShardQueue(only).send(shards);
    expect(only.sent).toHaveLength(3);
  });
});

describe("the IPv6 self-test", () => {
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it("reads host:port and [ipv6]:port, and refuses anything else", () => {
    expect(parseSelfTestTarget("sqs.eu-west-1.api.aws:443")).toEqual({ host: "sqs.eu-west-1.api.aws", port: 443 });
    expect(parseSelfTestTarget("[2600:1f18::1]:443")).toEqual({ host: "2600:1f18::1", port: 443 });
    for (const bad of ["", "no-port", "host:0", "2600::1:443", "host:99999"]) {
      expect(() => parseSelfTestTarget(bad), bad).toThrow(SelfTestError);
    }
  });

  it("passes when a TCP connection over IPv6 is made, and fails with the reason when none can be", async () => {
    const server = createServer((socket) => socket.destroy());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "::1", resolve));
    const port = (server.address() as { port: number }).port;
    await expect(ipv6SelfTest(`[::1]:${port}`)).resolves.toBe("::1");
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "::1", resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(ipv6SelfTest(`[::1]:${closedPort}`)).rejects.toThrow(/IPv6 self-test: \[::1\]:\d+: ECONNREFUSED/);
    // An IPv4 literal is never an IPv6 path.
    await expect(ipv6SelfTest("127.0.0.1:443", 500)).rejects.toThrow(SelfTestError);
  });
});
