// The embedded SQLite store: the store contract (store-contract.ts), then what is its own: a file that
// keeps its data, that two processes can write at once, and a missing store that is refused.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { ProbeResult } from "../../shared/exposure/model.ts";
import { MissingStoreError, openLocalStore, STORE_FILE } from "../../shared/store/local-store.ts";
import { SqliteDatabase } from "../../shared/store/sqlite/database.ts";
import { sqlite } from "../../shared/store/sqlite/driver.ts";
import { SqliteExposureStore } from "../../shared/store/sqlite/sqlite-store.ts";
import type { RecordResult, ShardResult } from "../../shared/store/store.ts";
import { legacyRecord } from "../helpers/legacy-records.ts";
import { minutes, observation } from "../helpers/observations.ts";
import { storeContract } from "./store-contract.ts";

const run = promisify(execFile);
const WRITER = join(import.meta.dirname, "../helpers/sqlite-writer.ts");
const CLI = join(import.meta.dirname, "../../cli/exposure.ts");
const dir = mkdtempSync(join(tmpdir(), "exposure-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

describe("the store contract on the embedded SQLite store", () => {
  storeContract<SqliteExposureStore>({
    // A file per store (not :memory:), so the suite runs on what the laptop uses: WAL, real transactions.
    newStore: async (options) =>
      new SqliteExposureStore({
        db: new SqliteDatabase({ path: join(dir, `contract-${++files}.sqlite`) }),
        ...options,
      }),
    rawRecord: async (store, endpoint) => {
      const row = store.db.get("SELECT * FROM endpoints WHERE endpoint = ?", endpoint);
      return row ? { ...row, ...JSON.parse(row.record as string) } : undefined;
    },
  });
});

async function writer(path: string, kind: "observations" | "shard", payload: unknown): Promise<unknown[]> {
  const { stdout } = await run(process.execPath, [WRITER, path, kind, JSON.stringify(payload)], { timeout: 60_000 });
  return stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
}

describe("the store file", () => {
  it("keeps data across opens, owner-only, and is refused where there is none when it must exist", async () => {
    const storeDir = join(dir, "persist", ".exposure");
    await expect(openLocalStore({ storeDir, mustExist: true })).rejects.toThrow(MissingStoreError);
    expect(existsSync(storeDir)).toBe(false);
    // A directory holding only an earlier version's DynamoDB Local data says so.
    const oldDir = join(dir, "old", ".exposure");
    mkdirSync(join(oldDir, "dynamodb"), { recursive: true });
    await expect(openLocalStore({ storeDir: oldDir, mustExist: true })).rejects.toThrow(
      /dynamodb\/ directory is the DynamoDB Local data of an earlier version/,
    );

    const first = await openLocalStore({ storeDir });
    const recorded = await first.store.recordObservation(observation("open-unauthenticated", minutes(0)));
    expect(recorded.event?.alerts).toEqual(["newly-unauthenticated"]);
    // A second connection (another command) sees the write while the first is still open.
    const second = await openLocalStore({ storeDir, mustExist: true });
    expect((await second.store.history("203.0.113.10:6379")).items).toHaveLength(1);
    await second.close();
    await first.close();

    expect(statSync(join(storeDir, STORE_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(storeDir).mode & 0o777).toBe(0o700);
    const reopened = await openLocalStore({ storeDir, mustExist: true });
    try {
      expect(reopened.startupMs).toBeLessThan(5_000);
      const repeat = await reopened.store.recordObservation(observation("open-unauthenticated", minutes(15)));
      expect(repeat.outcome).toBe("unchanged");
      expect((await reopened.store.history("203.0.113.10:6379")).items.map((event) => event.alerts)).toEqual([
        ["newly-unauthenticated"],
      ]);
    } finally {
      await reopened.close();
    }
  });

  it("keeps Node's experimental-SQLite warning off command output, and shows it with EXPOSURE_DEBUG", async () => {
    const storeDir = join(dir, "warning", ".exposure");
    const local = await openLocalStore({ storeDir });
    await local.store.recordObservation(observation("open-unauthenticated", minutes(0)));
    await local.close();
    const exposed = (env: NodeJS.ProcessEnv) =>
      run(process.execPath, [CLI, "exposed", "--store-dir", storeDir], { env, timeout: 60_000 });
    const { EXPOSURE_DEBUG: _unset, ...quiet } = process.env;
    const plain = await exposed(quiet);
    expect(plain.stdout).toContain("203.0.113.10:6379");
    expect(plain.stderr).toBe("");
    const debug = await exposed({ ...quiet, EXPOSURE_DEBUG: "1" });
    expect(debug.stdout).toBe(plain.stdout);
    expect(debug.stderr).toMatch(/^exposure: node:sqlite: SQLite is an experimental feature/);
  }, 60_000);

  it("two processes recording the same changes at once write each event once", async () => {
    const path = join(dir, "two-writers.sqlite");
    new SqliteDatabase({ path }).close();
    const states = ["auth-required", "open-unauthenticated", "closed", "closed", "busy"] as const;
    const observations = Array.from({ length: 100 }, (_, i) =>
      states.map((state, step) =>
        observation(state, minutes(step * 15), { ip: `198.51.${100 + Math.floor(i / 200)}.${(i % 200) + 1}` }),
      ),
    ).flat();
    const [a, b] = (await Promise.all([
      writer(path, "observations", observations),
      writer(path, "observations", observations),
    ])) as [RecordResult[], RecordResult[]];
    // Per endpoint, four changes (a pending "closed" in between): each recorded by exactly one process.
    const changed = [...a, ...b].filter((result) => result.outcome === "changed");
    expect(changed).toHaveLength(100 * 4);
    expect(new Set(changed.map((result) => result.event!.eventId)).size).toBe(100 * 4);

    const db = new SqliteDatabase({ path });
    try {
      const store = new SqliteExposureStore({ db });
      expect((await store.eventsBetween({ from: minutes(0), to: minutes(120) }, { limit: 1000 })).items).toHaveLength(
        400,
      );
      expect(await store.getEndpoint("198.51.100.7:6379")).toMatchObject({ state: "busy", version: 5 });
    } finally {
      db.close();
    }
  }, 120_000);

  it("counts a shard delivered to two processes at once exactly once", async () => {
    const path = join(dir, "two-shards.sqlite");
    const db = new SqliteDatabase({ path });
    try {
      const store = new SqliteExposureStore({ db });
      await store.startScan({ scanId: "scan-x", targets: 4, shards: 2 });
      const shard = { scanId: "scan-x", shardId: "1/2", countsByState: { closed: 2 } };
      const results = (await Promise.all([writer(path, "shard", shard), writer(path, "shard", shard)])).flat();
      expect((results as ShardResult[]).map((result) => result.counted).sort()).toEqual([false, true]);
      const last = await store.recordShard({ scanId: "scan-x", shardId: "2/2", countsByState: { filtered: 2 } });
      expect(last).toMatchObject({ counted: true, completed: true });
      expect(await store.getScan("scan-x")).toMatchObject({
        shardsDone: 2,
        countsByState: { closed: 2, filtered: 2 },
      });
    } finally {
      db.close();
    }
  }, 60_000);
});

describe("recording a shard against the records' digests", () => {
  const READ_RECORD = "SELECT record FROM endpoints WHERE endpoint = ?";
  const sweep = (at: number, states: readonly ProbeResult["state"][]) =>
    states.map((state, i) => observation(state, minutes(at), { ip: `198.51.100.${i + 1}` }));
  const states = ["open-unauthenticated", "closed", "filtered", "auth-required"] as const;
  /** Records one shard as probeShard does; returns the outcomes and how many records were read. */
  async function recordShard(store: SqliteExposureStore, results: ProbeResult[], scanId: string) {
    const reads = vi.spyOn(store.db, "get");
    try {
      const recorder = await store.beginShard(
        results.map((result) => `${result.ip}:${result.port}`),
        { scanId },
      );
      const outcomes = await recorder.record(results);
      return { outcomes, recordReads: reads.mock.calls.filter(([sql]) => sql === READ_RECORD).length };
    } finally {
      reads.mockRestore();
    }
  }

  it("reads no record for an unchanged observation, and only the changed one's otherwise", async () => {
    const store = new SqliteExposureStore({ db: new SqliteDatabase({ path: join(dir, "digests.sqlite") }) });
    try {
      const first = await recordShard(store, sweep(0, states), "scan-1");
      expect(first.outcomes.map((o) => o.outcome)).toEqual(["changed", "first-seen", "first-seen", "changed"]);
      const steady = await recordShard(store, sweep(15, states), "scan-2");
      expect(steady).toEqual({ outcomes: states.map(() => ({ outcome: "unchanged" })), recordReads: 0 });
      // The last endpoint loses its password: only its record is read, and it changes.
      const changed = await recordShard(store, sweep(30, [...states.slice(0, 3), "open-unauthenticated"]), "scan-3");
      expect(changed.recordReads).toBe(1);
      expect(changed.outcomes.map((o) => o.outcome)).toEqual(["unchanged", "unchanged", "unchanged", "changed"]);
      expect(changed.outcomes[3]?.event?.alerts).toEqual(["newly-unauthenticated"]);
      // Unchanged endpoints are not rewritten, but were observed (their seen record says when).
      expect(await store.getEndpoint("198.51.100.2:6379")).toMatchObject({ version: 1, lastObservedAt: minutes(30) });
    } finally {
      store.db.close();
    }
  });

  it("decides against what another process wrote after the shard began, not the digest it began with", async () => {
    const path = join(dir, "digest-race.sqlite");
    const store = new SqliteExposureStore({ db: new SqliteDatabase({ path }) });
    const other = new SqliteExposureStore({ db: new SqliteDatabase({ path }) });
    try {
      await recordShard(store, sweep(0, ["auth-required"]), "scan-1");
      const recorder = await store.beginShard(["198.51.100.1:6379"], { scanId: "scan-2" });
      expect(recorder.recordedExposure("198.51.100.1:6379")).toBe("reachable");
      // Meanwhile another process (a fast-path probe, say) sees the password gone.
      await other.recordObservation(observation("open-unauthenticated", minutes(10), { ip: "198.51.100.1" }));
      const [outcome] = await recorder.record(sweep(15, ["auth-required"]));
      expect(outcome?.event?.previous?.state).toBe("open-unauthenticated");
      expect(outcome?.event?.current.state).toBe("auth-required");
    } finally {
      other.db.close();
      store.db.close();
    }
  });

  it("gives the records of a file from before digests (schema 2) a digest, reading each once", async () => {
    const recorded = join(dir, "schema-3.sqlite");
    const before = new SqliteExposureStore({ db: new SqliteDatabase({ path: recorded }) });
    await recordShard(before, sweep(0, states), "scan-1");
    before.db.close();
    // A file as schema 2 wrote it: its endpoints table (word for word) holding the same records, no digests.
    const path = join(dir, "schema-2.sqlite");
    const old = new (sqlite().DatabaseSync)(path);
    old.exec(`CREATE TABLE IF NOT EXISTS endpoints (
  endpoint      TEXT PRIMARY KEY,
  ip            TEXT NOT NULL,
  port          INTEGER NOT NULL,
  exposed_key   TEXT,              -- exposedSortKey() while exposure is not none, else NULL
  owner_account TEXT,
  owner_key     TEXT,              -- <resourceId>#<endpoint>
  version       INTEGER NOT NULL,
  record        TEXT NOT NULL      -- the EndpointState, JSON
) WITHOUT ROWID;
PRAGMA user_version = 2;`);
    old.exec(`ATTACH DATABASE '${recorded}' AS recorded`);
    old.exec(`INSERT INTO endpoints SELECT endpoint, ip, port, exposed_key, owner_account, owner_key, version, record
              FROM recorded.endpoints`);
    old.close();

    const store = new SqliteExposureStore({ db: new SqliteDatabase({ path }) });
    try {
      expect(store.db.get("PRAGMA user_version")).toEqual({ user_version: 3 });
      const upgraded = await recordShard(store, sweep(15, states), "scan-2");
      expect(upgraded.recordReads).toBe(states.length);
      expect(upgraded.outcomes.map((o) => o.outcome)).toEqual(states.map(() => "unchanged"));
      const next = await recordShard(store, sweep(30, states), "scan-3");
      expect(next).toEqual({ outcomes: states.map(() => ({ outcome: "unchanged" })), recordReads: 0 });
    } finally {
      store.db.close();
    }
  });
});

describe("rows written before results named their protocol", () => {
  it("read back as the protocol field", async () => {
    const store = new SqliteExposureStore({ db: new SqliteDatabase({ path: join(dir, "legacy.sqlite") }) });
    const endpoint = "203.0.113.10:6379";
    const { event } = await store.recordObservation(observation("open-unauthenticated", minutes(0)));
    const state = await store.getEndpoint(endpoint);
    expect(state?.protocol).toMatchObject({ name: "redis", product: "redis", version: "7.2.4" });
    const row = store.db.get("SELECT record FROM endpoints WHERE endpoint = ?", endpoint);
    store.db.run(
      "UPDATE endpoints SET record = ? WHERE endpoint = ?",
      JSON.stringify(legacyRecord(JSON.parse(row!.record as string))),
      endpoint,
    );
    const eventRow = store.db.get("SELECT event FROM events WHERE endpoint = ?", endpoint);
    store.db.run(
      "UPDATE events SET event = ? WHERE endpoint = ?",
      JSON.stringify(legacyRecord(JSON.parse(eventRow!.event as string))),
      endpoint,
    );
    expect(store.db.get("SELECT record FROM endpoints WHERE endpoint = ?", endpoint)?.record).toContain('"server"');
    expect(await store.getEndpoint(endpoint)).toEqual(state);
    expect(await store.endpointsOfIp("203.0.113.10")).toEqual([state]);
    expect((await store.history(endpoint)).items).toEqual([event]);
    const next = await store.recordObservation(observation("open-unauthenticated", minutes(15)));
    expect(next.event).toBeUndefined();
    store.db.close();
  });
});
