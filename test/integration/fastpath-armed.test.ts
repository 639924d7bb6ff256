// The armed tier: an endpoint whose path is known open (it refused: RST) is probed every minute, so a Redis
// started on it without any AWS call alerts at the next run; a silent endpoint leaves the set. Real
// redis-server on loopback standing in for a public address, the embedded store.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRedisServer, freePort, type LabServer, LocalLab } from "../../cli/local-lab.ts";
import { armedProbeId, armedTargets, probeArmed } from "../../shared/fastpath/armed.ts";
import { updateArmed } from "../../shared/fastpath/fast-probe.ts";
import { MemoryFastPathLedger } from "../../shared/fastpath/ledger.ts";
import type { IpFamily } from "../../shared/net/ip.ts";
import { SqliteDatabase } from "../../shared/store/sqlite/database.ts";
import { SqliteExposureStore } from "../../shared/store/sqlite/sqlite-store.ts";
import { observation } from "../helpers/observations.ts";

const binary = findRedisServer();
let lab: LocalLab;
let redis: LabServer;
let closedPort: number;

beforeAll(async () => {
  if (!binary) throw new Error("redis-server is not installed (Debian: apt-get install redis-server)");
  lab = new LocalLab(binary);
  redis = await lab.add("armed", null);
  closedPort = await freePort();
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

describe("armed tier", () => {
  it("probes armed endpoints every run: a Redis started with no AWS call alerts at the next minute", async () => {
    const store = new SqliteExposureStore({ db: new SqliteDatabase({ path: ":memory:" }) });
    const ledger = new MemoryFastPathLedger();
    let up = false;
    const context = {
      connectTo: (ip: string) =>
        ip === "35.171.0.10"
          ? { host: "127.0.0.1", port: up ? redis.port : closedPort }
          : { host: "127.0.0.1", port: closedPort },
    };
    // A fast-path probe saw the refusal and armed it.
    await ledger.arm({ host: "35.171.0.10", port: 6379 }, 3_600);
    const t0 = new Date("2026-11-25T10:00:00Z");
    const first = await probeArmed({ store, ledger, scheduledTime: t0, context, probe: { concurrency: 8 } });
    expect(first).toMatchObject({ probeId: armedProbeId(t0), armed: 1, probed: 1 });
    expect((await store.getEndpoint("35.171.0.10:6379"))?.state).toBe("closed");

    up = true; // `redis-server` started by hand: no AWS call, no event.
    const second = await probeArmed({ store, ledger, scheduledTime: new Date(t0.getTime() + 60_000), context });
    expect(second.events).toHaveLength(1);
    expect(second.events[0]!.alerts).toContain("newly-unauthenticated");
    // Exposed now: listed by the store's exposed-now index, so still probed every minute.
    const third = await probeArmed({ store, ledger, scheduledTime: new Date(t0.getTime() + 120_000), context });
    expect(third.armed).toBe(1);
    expect(third.events).toEqual([]);
    db(store);
  }, 60_000);

  it("a recorded latent exposure joins at the hourly refresh run; a Redis started there alerts at the next run", async () => {
    const store = new SqliteExposureStore({ db: new SqliteDatabase({ path: ":memory:" }) });
    const ledger = new MemoryFastPathLedger();
    let up = false;
    const context = {
      connectTo: (ip: string) => ({ host: "127.0.0.1", port: ip === "35.171.0.20" && up ? redis.port : closedPort }),
    };
    // A sweep read the account and saw the path open to the whole internet with nothing answering (RST).
    const asset = {
      provider: "aws" as const,
      accountId: "222222222222",
      region: "us-east-1",
      resourceType: "ec2-instance",
      resourceId: "i-0aa0000000000020",
      tags: {},
      path: {
        verdict: "open" as const,
        scope: "any" as const,
        reason: "sgr-0fa5700000000001 (sg-0redis000000001) admits 0.0.0.0/0",
        rules: [
          {
            groupId: "sg-0redis000000001",
            ruleId: "sgr-0fa5700000000001",
            protocol: "tcp",
            fromPort: 6379,
            toPort: 6379,
            source: "0.0.0.0/0",
          },
        ],
      },
    };
    await store.startScan({
      scanId: "scan-1",
      startedAt: "2026-11-25T10:30:00.000Z",
      targets: 1,
      shards: 1,
      accountsRead: ["222222222222"],
    });
    const recorded = await store.recordObservation(
      observation("closed", "2026-11-25T10:30:05.000Z", { ip: "35.171.0.20", port: 6379, asset }),
      { scanId: "scan-1" },
    );
    expect(recorded.event).toBeUndefined(); // latent: recorded, never paged
    // Between refresh runs the latent set is not read: nothing is armed yet.
    const before = await probeArmed({ store, ledger, scheduledTime: new Date("2026-11-25T10:59:00Z"), context });
    expect(before.armed).toBe(0);
    // The hourly refresh run reads the latent exposures, probes them, and the refusal arms the endpoint.
    const refresh = await probeArmed({ store, ledger, scheduledTime: new Date("2026-11-25T11:00:00Z"), context });
    expect(refresh).toMatchObject({ armed: 1, probed: 1, events: [] });
    expect((await ledger.armed()).map((t) => `${t.host} ${t.asset?.path?.verdict}`)).toEqual(["35.171.0.20 open"]);

    up = true; // `redis-server` started by hand: no AWS call, no event.
    const next = await probeArmed({ store, ledger, scheduledTime: new Date("2026-11-25T11:01:00Z"), context });
    expect(next.armed).toBe(1);
    expect(next.events).toHaveLength(1);
    expect(next.events[0]!.endpoint).toBe("35.171.0.20:6379");
    expect(next.events[0]!.alerts).toContain("newly-unauthenticated");
    db(store);
  }, 60_000);

  it("takes one address family when asked: IPv4 outside a VPC, IPv6 in the scanner VPC (both otherwise)", async () => {
    const store = new SqliteExposureStore({ db: new SqliteDatabase({ path: ":memory:" }) });
    const ledger = new MemoryFastPathLedger();
    for (const ip of ["35.171.0.30", "2600:1f18:4a3:6a01::30"]) {
      await store.recordObservation(observation("open-unauthenticated", "2026-11-25T10:30:05.000Z", { ip }), {
        scanId: "scan-1",
      });
    }
    await ledger.arm({ host: "35.171.0.31", port: 6379 }, 3_600);
    await ledger.arm({ host: "2600:1f18:4a3:6a01::31", port: 6379 }, 3_600);
    const hosts = async (family?: IpFamily) => {
      const { targets, armedBefore } = await armedTargets({ store, ledger, ...(family ? { family } : {}) });
      return { targets: targets.map((t) => t.host).sort(), armedBefore: [...armedBefore].sort() };
    };
    expect(await hosts("ipv4")).toEqual({ targets: ["35.171.0.30", "35.171.0.31"], armedBefore: ["35.171.0.31:6379"] });
    expect(await hosts("ipv6")).toEqual({
      targets: ["2600:1f18:4a3:6a01::30", "2600:1f18:4a3:6a01::31"],
      armedBefore: ["[2600:1f18:4a3:6a01::31]:6379"],
    });
    expect((await hosts()).targets).toHaveLength(4);
    db(store);
  });

  it("an armed endpoint gone silent leaves the set; a steady set is not rewritten every minute", async () => {
    const ledger = new MemoryFastPathLedger();
    const writes: string[] = [];
    const counting = {
      ...ledger,
      claim: ledger.claim.bind(ledger),
      release: ledger.release.bind(ledger),
      stop: ledger.stop.bind(ledger),
      stoppedSince: ledger.stoppedSince.bind(ledger),
      armed: ledger.armed.bind(ledger),
      arm: async (target: { host: string; port: number }, ttl: number) => {
        writes.push(`arm ${target.host}`);
        await ledger.arm(target, ttl);
      },
      disarm: async (endpoint: string) => {
        writes.push(`disarm ${endpoint}`);
        await ledger.disarm(endpoint);
      },
    };
    const targets = [
      { host: "35.171.0.12", port: 6379 },
      { host: "35.171.0.13", port: 6379 },
    ];
    const result = (ip: string, state: "closed" | "filtered") =>
      ({ ip, port: 6379, state, exposure: "none" }) as Parameters<typeof updateArmed>[2][number];
    await updateArmed(counting, targets, [result("35.171.0.12", "closed"), result("35.171.0.13", "closed")]);
    expect((await ledger.armed()).map((t) => t.host).sort()).toEqual(["35.171.0.12", "35.171.0.13"]);
    writes.length = 0;
    const armed = new Set(["35.171.0.12:6379", "35.171.0.13:6379"]);
    // A minute later: one still refuses (no write), one went silent (disarmed).
    await updateArmed(
      counting,
      targets,
      [result("35.171.0.12", "closed"), result("35.171.0.13", "filtered")],
      armed,
      false,
    );
    expect(writes).toEqual(["disarm 35.171.0.13:6379"]);
    expect((await ledger.armed()).map((t) => t.host)).toEqual(["35.171.0.12"]);
  });
});

function db(store: SqliteExposureStore) {
  store.db.close();
}
