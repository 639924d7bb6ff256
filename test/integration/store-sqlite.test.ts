// The embedded SQLite store: the store contract (store-contract.ts), then what is its own: a file that
// keeps its data, that two processes can write at once, and a missing store that is refused.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { MissingStoreError, openLocalStore, STORE_FILE } from "../../shared/store/local-store.ts";
import { SqliteDatabase } from "../../shared/store/sqlite/database.ts";
import { SqliteExposureStore } from "../../shared/store/sqlite/sqlite-store.ts";
import type { RecordResult, ShardResult } from "../../shared/store/store.ts";
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
