// Seeds a local store with a large fleet and a year of history, then times the read commands on it:
//   node bench/seed-store.ts [--endpoints 100000] [--exposed-share 0.05] [--store-dir DIR] [--measure-only]
// Every write goes through the store's own path (recordObservation, startScan, recordShard), so the
// items, keys and indexes are exactly what the monitor writes. Then `exposure exposed` and a 90-day
// `exposure report` run as child processes against the same store directory and are timed.
//
// The fleet: N endpoints in 198.18.0.0/15 (benchmark range, never routed), owned by 20 accounts; all are
// first seen closed a year ago (a state item each, no event); a share of them open and close exposure
// windows through the year (mean 3 windows, mean length 2 days; some reachable, some unauthenticated,
// some change level inside a window). A scan every 15 minutes for the year, 1% missed, 0.5% incomplete.
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import type { Asset, ProbeResult, ProbeState } from "../shared/exposure/model.ts";
import { exposureOf } from "../shared/exposure/model.ts";
import { openLocalStore } from "../shared/store/local-store.ts";
import { SqliteExposureStore } from "../shared/store/sqlite/sqlite-store.ts";
import type { ExposureStore } from "../shared/store/store.ts";

const { values } = parseArgs({
  options: {
    endpoints: { type: "string", default: "100000" },
    "exposed-share": { type: "string", default: "0.05" },
    "store-dir": { type: "string", default: "/tmp/exposure-bench-store" },
    concurrency: { type: "string", default: "24" },
    "measure-only": { type: "boolean", default: false },
  },
});
const ENDPOINTS = Number(values.endpoints);
const EXPOSED_SHARE = Number(values["exposed-share"]);
const STORE_DIR = resolve(values["store-dir"]!);
const CONCURRENCY = Number(values.concurrency);
const DAY = 86_400_000;
const SCAN_INTERVAL = 15 * 60_000;
const NOW = Date.now();
const YEAR_AGO = NOW - 365 * DAY;

/** Deterministic pseudo-random numbers (mulberry32), so two runs seed the same history. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function ipOf(i: number): string {
  return `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

function ownerOf(i: number): Asset {
  const account = String(100_000_000_000 + (i % 20) * 1_111).padStart(12, "0");
  return {
    provider: "aws",
    accountId: account,
    region: i % 3 === 0 ? "us-east-1" : "eu-west-1",
    resourceType: "network-interface",
    resourceId: `eni-${i.toString(16).padStart(8, "0")}`,
  };
}

function observation(i: number, state: ProbeState, atMs: number): ProbeResult {
  const ip = ipOf(i);
  const exposure = exposureOf(state);
  return {
    target: `${ip}:6379`,
    ip,
    port: 6379,
    state,
    exposure,
    tls: false,
    protocol:
      exposure === "none"
        ? { name: "redis" }
        : { name: "redis", product: "redis", version: "7.2.4", mode: "standalone", role: "master" },
    findings: [],
    reply: "",
    durationMs: 2,
    observedAt: new Date(atMs).toISOString(),
    asset: ownerOf(i),
  };
}

/** The observations that make one endpoint's year: first seen closed, then its exposure windows. */
function observationsOf(i: number, exposed: boolean): ProbeResult[] {
  const rand = random(i + 1);
  const list = [observation(i, "closed", YEAR_AGO + Math.floor(rand() * SCAN_INTERVAL))];
  if (!exposed) return list;
  let t = list[0]!.observedAt ? Date.parse(list[0]!.observedAt) : YEAR_AGO;
  const windows = 1 + Math.floor(rand() * 5);
  for (let w = 0; w < windows; w++) {
    t += Math.floor(rand() * (365 / windows) * DAY);
    if (t >= NOW - SCAN_INTERVAL) break;
    const unauthenticated = rand() < 0.3;
    list.push(observation(i, unauthenticated ? "open-unauthenticated" : "auth-required", t));
    const length = Math.floor(-Math.log(1 - rand()) * 2 * DAY) + SCAN_INTERVAL;
    if (!unauthenticated && rand() < 0.2) list.push(observation(i, "open-unauthenticated", t + Math.floor(length / 2)));
    t += length;
    if (t >= NOW - 2 * SCAN_INTERVAL) break; // still open now
    // Resolving takes two consecutive observations at exposure none.
    list.push(observation(i, "closed", t), observation(i, "closed", t + SCAN_INTERVAL));
    t += SCAN_INTERVAL;
  }
  return list;
}

async function pool<T>(items: number, concurrency: number, work: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items) {
        const i = next++;
        await work(i);
        if (++done % 5_000 === 0) {
          process.stderr.write(`  ${done}/${items} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
        }
      }
    }),
  );
}

async function seedEndpoints(store: ExposureStore): Promise<{ events: number; observations: number }> {
  let events = 0;
  let observations = 0;
  const exposedEvery = Math.max(1, Math.round(1 / EXPOSED_SHARE));
  await pool(ENDPOINTS, CONCURRENCY, async (i) => {
    for (const result of observationsOf(i, i % exposedEvery === 0)) {
      const recorded = await store.recordObservation(result);
      observations++;
      if (recorded.event) events++;
    }
  });
  return { events, observations };
}

/** A scan every 15 minutes for the year. The store's clock stamps completion, so each worker has its own store. */
async function seedScans(storeWithClock: (now: () => Date) => ExposureStore): Promise<number> {
  const scans = Math.floor((NOW - YEAR_AGO) / SCAN_INTERVAL);
  let written = 0;
  // Newest first: a run stopped early still holds the recent months a report reads.
  await pool(scans, CONCURRENCY, async (n) => {
    const s = scans - 1 - n;
    const rand = random(1_000_000 + s);
    const r = rand();
    if (r < 0.01) return; // missed run
    const startedAt = YEAR_AGO + s * SCAN_INTERVAL;
    const store = storeWithClock(() => new Date(startedAt + 3 * 60_000));
    await store.startScan({
      scanId: `bench-${s}`,
      startedAt: new Date(startedAt).toISOString(),
      targets: ENDPOINTS,
      shards: 2,
      accountsRead: Array.from({ length: 20 }, (_, a) => ownerOf(a).accountId),
      regionsRead: ["eu-west-1", "us-east-1"],
      gaps: r < 0.02 ? [{ accountId: ownerOf(7).accountId, source: "ec2", error: "AccessDenied" }] : [],
    });
    const shardsDone = r < 0.015 ? 1 : 2; // 0.5% never complete
    for (let shard = 0; shard < shardsDone; shard++) {
      await store.recordShard({ scanId: `bench-${s}`, shardId: `s${shard}`, countsByState: { closed: ENDPOINTS / 2 } });
    }
    written++;
  });
  return written;
}

async function timed(args: string[]): Promise<{ seconds: number; lines: number }> {
  const started = performance.now();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(import.meta.dirname, "../cli/exposure.ts"), ...args],
    {
      maxBuffer: 1 << 30,
    },
  );
  return { seconds: (performance.now() - started) / 1000, lines: stdout.split("\n").length - 1 };
}

async function main(): Promise<void> {
  if (!values["measure-only"]) {
    const local = await openLocalStore({ storeDir: STORE_DIR });
    process.stderr.write(`seeding ${ENDPOINTS} endpoints and a year of history into ${STORE_DIR}\n`);
    try {
      // Endpoints and scans are seeded side by side, so a run stopped early has some of both.
      const started = performance.now();
      const [counts, scans] = await Promise.all([
        seedEndpoints(local.store).then((result) => {
          const seconds = ((performance.now() - started) / 1000).toFixed(0);
          process.stdout.write(
            `seeded ${ENDPOINTS} endpoints: ${result.observations} observations, ${result.events} events (${seconds} s)\n`,
          );
          return result;
        }),
        seedScans((now) => new SqliteExposureStore({ db: local.db, now })).then((count) => {
          process.stdout.write(
            `seeded ${count} scan records (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
          );
          return count;
        }),
      ]);
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(
        `seeding done in ${seconds.toFixed(0)} s: ${ENDPOINTS} endpoints, ${counts.events} events, ${scans} scans\n`,
      );
    } finally {
      await local.close();
    }
  }
  const store = ["--store-dir", STORE_DIR];
  // Each command opens the store's SQLite file in its own process.
  const exposed = await timed(["exposed", ...store]);
  process.stdout.write(`exposure exposed: ${exposed.seconds.toFixed(1)} s (${exposed.lines - 1} endpoints listed)\n`);
  const report = await timed([
    "report",
    "--from",
    "90d",
    "--format",
    "html",
    "--out",
    join(STORE_DIR, "report-90d.html"),
    ...store,
  ]);
  process.stdout.write(`exposure report --from 90d --format html: ${report.seconds.toFixed(1)} s\n`);
  const json = await timed(["report", "--from", "90d", "--format", "json", ...store]);
  process.stdout.write(
    `exposure report --from 90d --format json: ${json.seconds.toFixed(1)} s (${json.lines} lines)\n`,
  );
}

await main();
