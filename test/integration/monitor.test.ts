// The laptop monitor's end-to-end sequence against real parts: redis-server processes on loopback, DynamoDB Local,
// the monitor cycle and local alert delivery. A server goes auth required -> unauthenticated ->
// auth required -> stopped (twice) -> started; exactly the expected events and alerts come out, once.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRedisServer, freePort, type LabServer, LocalLab, labCommands } from "../../cli/local-lab.ts";
import { type MonitorSettings, monitorCycle } from "../../cli/monitor.ts";
import { openStore } from "../../cli/store-args.ts";
import type { Alert } from "../../shared/alerts/alert.ts";
import { SqliteDeliveryState } from "../../shared/alerts/ledger-sqlite.ts";
import { acknowledgementId } from "../../shared/exposure/acknowledgement.ts";
import { AddressSet } from "../../shared/net/ip.ts";
import { runScanCycle } from "../../shared/scan/local-cycle.ts";
import type { DynamoExposureStore } from "../../shared/store/dynamo-store.ts";
import { SqliteDatabase } from "../../shared/store/sqlite/database.ts";
import { allItems } from "../../shared/store/store.ts";
import { useDynamoLocal } from "../helpers/dynamo.ts";

const dynamo = useDynamoLocal();
const binary = findRedisServer();
let lab: LocalLab;
let server: LabServer;
let steady: LabServer;
let store: DynamoExposureStore;
let storeDir: string;
let closedPort: number;

beforeAll(async () => {
  if (!binary) throw new Error("redis-server is not installed (Debian: apt-get install redis-server)");
  lab = new LocalLab(binary);
  server = await lab.add("flapping", "pw-1");
  steady = await lab.add("steady", "pw-2");
  closedPort = await freePort();
  store = await dynamo.newStore();
  storeDir = mkdtempSync(join(tmpdir(), "exposure-monitor-test-"));
}, 60_000);

afterAll(async () => {
  await lab?.close();
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

function settings(): MonitorSettings {
  const targets = [
    { host: "127.0.0.1", port: server.port },
    { host: "127.0.0.1", port: steady.port },
    { host: "127.0.0.1", port: closedPort },
  ];
  return {
    probe: {
      concurrency: 8,
      connectTimeoutMs: 1_000,
      deadlineMs: 3_000,
      replyTimeoutMs: 1_000,
      allowedMasters: new AddressSet(),
    },
    json: true, // console alerts go to stderr; stdout stays quiet in the test log
    targetSource: async () => ({ targets }),
  };
}

/** The delivery state of the laptop's embedded store (its ledger and watermark), here beside a DynamoDB store. */
const deliveryState = () => new SqliteDeliveryState(new SqliteDatabase({ path: ":memory:" }));
const monitorDelivery = deliveryState();
const cycle = () =>
  monitorCycle({ store, label: "test", storeDir, deliveryState: monitorDelivery, close: async () => {} }, settings());
const flapping = () => `127.0.0.1:${server.port}`;
const alertKinds = (report: Awaited<ReturnType<typeof cycle>>) =>
  report.alerts.map((alert) => `${alert.endpoint} ${alert.kind}`);

describe("the monitor over a changing server", () => {
  it("walks the whole sequence with exactly the expected events and alerts", async () => {
    const first = await cycle();
    expect(alertKinds(first).sort()).toEqual(
      [`${flapping()} newly-internet-facing`, `127.0.0.1:${steady.port} newly-internet-facing`].sort(),
    );
    expect(first.scan.countsByState).toEqual({ "auth-required": 2, closed: 1 });
    expect(first.scan.completedAt).not.toBeNull();

    await labCommands(server.port, [
      ["AUTH", "pw-1"],
      ["CONFIG", "SET", "requirepass", ""],
    ]);
    const second = await cycle();
    expect(alertKinds(second)).toContain(`${flapping()} newly-unauthenticated`);
    const unauthenticated = second.alerts.find((alert) => alert.kind === "newly-unauthenticated")!;
    expect(unauthenticated).toMatchObject({
      severity: "critical",
      endpoint: flapping(),
      previous: { state: "auth-required", exposure: "reachable" },
      current: { state: "open-unauthenticated", exposure: "unauthenticated", tls: false },
    });
    expect(unauthenticated.current.protocol).toMatchObject({ name: "redis", product: "redis", version: "7.0.15" });

    const third = await cycle();
    expect(third.events).toEqual([]);
    expect(third.alerts).toEqual([]);

    await labCommands(server.port, [["CONFIG", "SET", "requirepass", "pw-3"]]);
    const fourth = await cycle();
    expect(fourth.events.map((event) => `${event.previous?.state} -> ${event.current.state}`)).toEqual([
      "open-unauthenticated -> auth-required",
    ]);
    expect(fourth.alerts).toEqual([]); // less exposed than before: history, no page

    await server.stop();
    const fifth = await cycle();
    expect(fifth.events).toEqual([]); // one closed observation is not yet a resolution
    const sixth = await cycle();
    expect(alertKinds(sixth)).toEqual([`${flapping()} resolved`]);
    const seventh = await cycle();
    expect(seventh.alerts).toEqual([]);

    server.password = "pw-4";
    await server.start();
    const eighth = await cycle();
    expect(alertKinds(eighth)).toEqual([`${flapping()} newly-internet-facing`]);

    // The history holds every change, oldest first.
    const history = [];
    for await (const event of allItems((cursor) => store.history(flapping(), cursor ? { cursor } : {})))
      history.push(event);
    expect(
      history.map((event) => [event.previous?.state ?? null, event.current.state, event.alerts.join("+")]),
    ).toEqual([
      [null, "auth-required", "newly-internet-facing"],
      ["auth-required", "open-unauthenticated", expect.stringContaining("newly-unauthenticated")],
      ["open-unauthenticated", "auth-required", ""],
      ["auth-required", "closed", "resolved"],
      ["closed", "auth-required", "newly-internet-facing"],
    ]);

    // Every alert reached alerts.jsonl exactly once.
    const lines = readFileSync(join(storeDir, "alerts.jsonl"), "utf8").trim().split("\n");
    const ids = lines.map((line) => (JSON.parse(line) as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
    const all = [first, second, third, fourth, fifth, sixth, seventh, eighth].flatMap((report) =>
      report.alerts.map((a) => a.id),
    );
    expect(ids.sort()).toEqual(all.sort());

    // And the steady server is the only thing exposed besides the flapping one.
    const exposed = [];
    for await (const state of allItems((cursor) => store.listExposed(cursor ? { cursor } : {})))
      exposed.push(state.endpoint);
    expect(exposed.sort()).toEqual([flapping(), `127.0.0.1:${steady.port}`].sort());
  }, 120_000);
  it("an alert recorded but never delivered (a crash in between) goes out on the next run, once", async () => {
    const crashDir = mkdtempSync(join(tmpdir(), "exposure-recover-test-"));
    try {
      const crashStore = await dynamo.newStore();
      // The store recorded a change whose alert was never handed to any channel.
      const recorded = await crashStore.recordObservation({
        target: "203.0.113.77:6379",
        ip: "203.0.113.77",
        port: 6379,
        state: "open-unauthenticated",
        exposure: "unauthenticated",
        tls: false,
        protocol: { name: "redis", product: "redis", version: "8.2.2", mode: "standalone", role: "master" },
        findings: [],
        reply: "+PONG",
        durationMs: 3,
        observedAt: new Date(Date.now() - 60_000).toISOString(),
      });
      expect(recorded.event?.alerts).toEqual(["newly-unauthenticated"]);
      const opened = {
        store: crashStore,
        label: "test",
        storeDir: crashDir,
        deliveryState: deliveryState(),
        close: async () => {},
      };
      const quiet = { ...settings(), targetSource: async () => ({ targets: [] }) };

      const first = await monitorCycle(opened, quiet);
      expect(first.alerts).toEqual([]); // nothing new was observed...
      expect(first.delivered).toBe(2); // ...but the recovered alert reached the console and alerts.jsonl
      const lines = readFileSync(join(crashDir, "alerts.jsonl"), "utf8").trim().split("\n");
      expect(lines.map((line) => JSON.parse(line).endpoint)).toEqual(["203.0.113.77:6379"]);

      const second = await monitorCycle(opened, quiet);
      expect(second.delivered).toBe(0);
      expect(readFileSync(join(crashDir, "alerts.jsonl"), "utf8").trim().split("\n")).toHaveLength(1);
    } finally {
      rmSync(crashDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("an acknowledgement that expires on the laptop", () => {
  it("the cycle records its expiry as an event and alerts once through the embedded store, as the deployed monitor does", async () => {
    const acked = await lab.add("acked", "pw-acked");
    const ackDir = mkdtempSync(join(tmpdir(), "exposure-ack-expiry-test-"));
    const opened = await openStore({ "store-dir": ackDir });
    try {
      const endpoint = `127.0.0.1:${acked.port}`;
      const oneTarget = {
        ...settings(),
        targetSource: async () => ({ targets: [{ host: "127.0.0.1", port: acked.port }] }),
      };
      const alertLines = () =>
        readFileSync(join(ackDir, "alerts.jsonl"), "utf8")
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as Alert);

      const first = await monitorCycle(opened, oneTarget);
      expect(alertKinds(first)).toEqual([`${endpoint} newly-internet-facing`]);
      // Acknowledged an hour ago, until now: expired by the next cycle, the endpoint still exposed.
      const createdAt = new Date(Date.now() - 3_600_000).toISOString();
      await opened.store.putAcknowledgement({
        id: acknowledgementId(endpoint, createdAt),
        endpoint,
        reason: "demo server for the sales team",
        author: "alice",
        createdAt,
        until: new Date().toISOString(),
        revokedAt: null,
        revokedBy: null,
        expiryAlertedAt: null,
      });

      const second = await monitorCycle(opened, oneTarget);
      expect(second.events).toEqual([]);
      expect(second.expiryEvents.map((event) => `${event.endpoint} ${event.alerts.join("+")}`)).toEqual([
        `${endpoint} newly-internet-facing`,
      ]);
      expect(second.delivered).toBe(2); // the console and alerts.jsonl
      const lines = alertLines();
      expect(lines).toHaveLength(2);
      expect(lines[1]!.remediation[0]).toContain('acknowledgement by alice ("demo server for the sales team") expired');
      // Recorded in the history, like the deployed monitor's expiry event.
      const history = (await opened.store.history(endpoint)).items;
      expect(history.map((event) => event.acknowledgementExpired?.author ?? null)).toEqual([null, "alice"]);
      expect((await opened.store.listAcknowledgements(endpoint))[0]?.expiryAlertedAt).not.toBeNull();

      const third = await monitorCycle(opened, oneTarget);
      expect(third.expiryEvents).toEqual([]);
      expect(third.delivered).toBe(0);
      expect(alertLines()).toHaveLength(2);
    } finally {
      await opened.close();
      rmSync(ackDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("named targets", () => {
  it("are keyed by IP with the name as a label; a moved name's old address is confirmed and resolves; a name that does not resolve records nothing", async () => {
    const named = await lab.add("named", "pw-named");
    const name = "redis.example.test";
    let address = "127.0.0.1";
    const cycle = () =>
      runScanCycle({
        store,
        targets: [{ host: name, port: named.port }],
        probe: { concurrency: 8 },
        resolve: async (host) => {
          if (host !== name) throw new Error(`unexpected lookup of ${host}`);
          return address;
        },
      });
    const old = `127.0.0.1:${named.port}`;

    const first = await cycle();
    expect(first.events.map((event) => `${event.endpoint} ${event.alerts.join("+")}`)).toEqual([
      `${old} newly-internet-facing`,
    ]);
    expect(await store.getEndpoint(old)).toMatchObject({ name, exposure: "reachable" });
    expect(await store.getEndpoint(`${name}:${named.port}`)).toBeNull();

    // The name moves to an address where nothing listens; the old address still answers and stays exposed.
    address = "127.0.0.3";
    const second = await cycle();
    expect(second.scan.targets).toBe(2);
    expect(second.events).toEqual([]);
    expect(await store.getEndpoint(old)).toMatchObject({ exposure: "reachable" });
    expect(await store.getEndpoint(`127.0.0.3:${named.port}`)).toMatchObject({ name, exposure: "none" });

    // Once the old address stops answering, it resolves like any other endpoint (two observations).
    await named.stop();
    await cycle();
    const fourth = await cycle();
    expect(fourth.events.map((event) => `${event.endpoint} ${event.alerts.join("+")}`)).toEqual([`${old} resolved`]);
    const fifth = await cycle();
    expect(fifth.scan.targets).toBe(1); // no longer exposed: nothing keeps the old address in the list

    // A name that does not resolve: a probe error (the shard fails rather than record), no state under the name.
    await expect(
      runScanCycle({
        store,
        targets: [{ host: "missing.invalid", port: named.port }],
        probe: { concurrency: 8 },
        resolve: async () => {
          throw new Error("ENOTFOUND missing.invalid");
        },
      }),
    ).rejects.toThrow(/probe errors/);
    expect(await store.getEndpoint(`missing.invalid:${named.port}`)).toBeNull();
  }, 120_000);
});
