// `npm run -s bench -- cost` (as root): the monthly bill from counted requests. For each scenario it builds
// a lab fleet (bench/fleet.ts) and runs whole scan cycles of the real code inside the scanner namespace:
// startScanCycle, then the queued shards in invocations of PROBE_BATCH_SIZE run as the probe function runs
// them (probeShard with the adaptive scheduler, sockets shared), against DynamoDB Local. It counts every
// DynamoDB request and the read/write units DynamoDB reports for the table and each index, the shard
// messages (SQS), the bytes the scanner sent (data transfer out), the log lines the functions write at
// their levels, times every invocation, checks every recorded state against the fleet's ground truth,
// and prices one steady-state cycle per scenario with bench/cost-model.ts. Last line: the issue's summary.
//   npm run -s bench -- cost [--size 100000] [--small 1000]
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { intOption, parseCommandArgs } from "../cli/args.ts";
import {
  DEFAULT_PROBE_MAX_CONCURRENCY,
  ENUMERATE_MEMORY_MB,
  PROBE_BATCH_SIZE,
  PROBE_MEMORY_MB,
  PROBE_SOCKET_CONCURRENCY,
  SHARD_SIZE,
} from "../infra/sizing.ts";
import type { CoverageGap, Target } from "../shared/exposure/model.ts";
import { encodeShardMessage, probeShard, type ShardMessage, startScanCycle } from "../shared/scan/shards.ts";
import { createLocalDocumentClient } from "../shared/store/client.ts";
import { DynamoExposureStore } from "../shared/store/dynamo-store.ts";
import { startLocalDynamo } from "../shared/store/local-dynamo.ts";
import { ensureTable } from "../shared/store/table.ts";
import {
  breakdownTable,
  type CostResult,
  type CycleMeasure,
  type Deployment,
  LOG_ENVELOPE_BYTES,
  lastLine,
  monthlyBill,
  PRICES,
  total,
} from "./cost-model.ts";
import { Fleet, runBenchEntry } from "./fleet.ts";

/** The deployment as infra/ builds it (test/infra/cost-doc.test.ts checks these counts against the template). */
export const DEPLOYMENT: Omit<Deployment, "initSeconds"> = {
  probeMemoryGb: PROBE_MEMORY_MB / 1024,
  enumerateMemoryGb: ENUMERATE_MEMORY_MB / 1024,
  probeMaxConcurrency: DEFAULT_PROBE_MAX_CONCURRENCY,
  customMetrics: 2,
  alarms: 11,
  dashboards: 0,
  kmsKeys: 1,
  // Enumerate is traced (one trace a sweep); the probe's tracing is off.
  tracedInvocationsPerSweep: 1,
  scanRetentionDays: 90,
};

interface CyclePlan {
  name: string;
  gaps: number;
}

interface ChildJob {
  scenario: string;
  targetsFile: string;
  truthFile: string;
  cycles: CyclePlan[];
  out: string;
}

const EMF_LINE_BYTES = 520; // one embedded-metric-format line (ScansCompleted or CoverageGaps)

/** An item's size as DynamoDB counts it, near enough: names and values, binary as its bytes, numbers ~ their digits. */
function itemBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += name.length + valueBytes(value);
  return bytes;
}

function valueBytes(value: unknown): number {
  if (typeof value === "string") return Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.length;
  if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + valueBytes(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueBytes(v), 0);
  if (value !== null && typeof value === "object")
    return 3 + itemBytes(value as Record<string, unknown>) + Object.keys(value).length;
  return JSON.stringify(value ?? null).length;
}

/** The kind of item a request is about, from its key's prefix (shared/store/schema.ts), or the index it queries. */
function itemKind(input: Record<string, unknown>): string {
  type Keyed = { PK?: unknown };
  const prefix = (key: Keyed | undefined) => String(key?.PK ?? "?").split("#")[0] ?? "?";
  if (input.Item) return prefix(input.Item as Keyed);
  if (input.Key) return prefix(input.Key as Keyed);
  if (input.RequestItems) {
    const [request] = Object.values(input.RequestItems as Record<string, { Keys?: Keyed[] }>);
    return prefix(request?.Keys?.[0]);
  }
  if (input.TransactItems) {
    return (input.TransactItems as { Put?: { Item?: Keyed }; Update?: { Key?: Keyed } }[])
      .map((t) => prefix(t.Put?.Item ?? t.Update?.Key))
      .join("+");
  }
  if (input.IndexName) return String(input.IndexName);
  const values = input.ExpressionAttributeValues as Record<string, unknown> | undefined;
  return values?.[":pk"] !== undefined ? prefix({ PK: values[":pk"] }) : "?";
}

/** IP bytes sent on every link but loopback (tx bytes less 14 bytes of Ethernet header a packet). */
function txBytes(): number {
  let bytes = 0;
  for (const dev of readdirSync("/sys/class/net")) {
    if (dev === "lo") continue;
    const stat = (name: string) => Number(readFileSync(`/sys/class/net/${dev}/statistics/${name}`, "utf8"));
    bytes += stat("tx_bytes") - 14 * stat("tx_packets");
  }
  return bytes;
}

/** Runs inside the scanner namespace: the cycles of one scenario against a fresh DynamoDB Local. */
async function child(job: ChildJob): Promise<void> {
  const targets: Target[] = readFileSync(job.targetsFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((host) => ({ host, port: 6379 }));
  const truth = new Map(Object.entries(JSON.parse(readFileSync(job.truthFile, "utf8")) as Record<string, string>));
  const dynamo = await startLocalDynamo({ inMemory: true });
  const client = createLocalDocumentClient(dynamo.endpoint);
  let m: CycleMeasure | undefined;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? "?";
      const input = args.input as Record<string, unknown>;
      const read = /Get|Query|Scan/.test(name);
      const operation = `${name.replace("Command", "")} ${itemKind(input)}`;
      if (m) {
        m.requests[name] = (m.requests[name] ?? 0) + 1;
        m.operations ??= {};
        m.operations[operation] ??= { requests: 0, units: 0 };
        m.operations[operation].requests++;
        input.ReturnConsumedCapacity = "INDEXES";
      }
      const add = (target: string, n: number) => {
        if (!m) return;
        const into = read ? m.readUnits : m.writeUnits;
        into[target] = (into[target] ?? 0) + n;
        const op = m.operations?.[operation];
        if (op) op.units += n;
      };
      try {
        const result = await next(args);
        const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
        for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
          const c = entry as {
            Table?: { CapacityUnits?: number };
            GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
          };
          add("table", c.Table?.CapacityUnits ?? 0);
          for (const [index, units] of Object.entries(c.GlobalSecondaryIndexes ?? {}))
            add(index, units.CapacityUnits ?? 0);
        }
        return result;
      } catch (error) {
        // A failed conditional write is billed too: a unit per KB of each item it would have written.
        const items = [
          input.Item,
          ...((input.TransactItems as { Put?: { Item?: unknown } }[] | undefined) ?? []).map((t) => t.Put?.Item),
        ];
        const factor = name.startsWith("Transact") ? 2 : 1;
        for (const item of items)
          if (item)
            add("table (failed conditions)", factor * Math.ceil(itemBytes(item as Record<string, unknown>) / 1024));
        throw error;
      }
    },
    { step: "initialize", name: "benchCountRequests" },
  );
  const tableName = "exposure-bench";
  await ensureTable(client, tableName);
  const results: CycleMeasure[] = [];
  try {
    for (const [i, plan] of job.cycles.entries()) {
      // A store per cycle: sweeps are 15 minutes apart, so nothing a process remembers (seen records it
      // wrote, dynamo-digest.ts) carries over from one to the next.
      const store = new DynamoExposureStore({
        client,
        tableName,
        retentionDays: 400,
        scanRetentionDays: DEPLOYMENT.scanRetentionDays,
      });
      const measure: CycleMeasure = {
        scenario: plan.name,
        cycle: i + 1,
        targets: targets.length,
        shards: 0,
        invocations: 0,
        requests: {},
        readUnits: {},
        writeUnits: {},
        invocationMs: [],
        enumerateMs: 0,
        shardMessageBytes: [],
        probeBytesOut: 0,
        events: 0,
        alerts: 0,
        gaps: plan.gaps,
        logBytes: 0,
        storedBytesPerEndpoint: 0,
        storedBytesPerScan: 0,
        correct: 0,
        countsByState: {},
      };
      m = measure;
      const gaps: CoverageGap[] = Array.from({ length: plan.gaps }, (_, g) => ({
        accountId: String(100_000_000_000 + (g % 500)),
        region: ["me-south-1", "af-south-1"][g % 2] as string,
        source: "ec2:DescribeNetworkInterfaces",
        error:
          "UnauthorizedOperation: You are not authorized to perform this operation. (explicit deny in a service control policy)",
      }));
      const queued: ShardMessage[] = [];
      const scanId = `bench-${job.scenario}-${i + 1}-${Date.now()}`;
      const started = performance.now();
      await startScanCycle({
        scanId,
        readInventory: async () => ({
          targets,
          summary: { accountsRead: ["111122223333"], regionsRead: ["us-east-1"], gaps },
        }),
        store,
        queue: { send: async (messages) => void queued.push(...messages) },
        shardLimits: { maxTargets: SHARD_SIZE },
      });
      measure.enumerateMs = performance.now() - started;
      // The enumerate function logs each gap once (WARN), and one metric line; the probe logs at WARN.
      measure.logBytes =
        gaps.reduce((sum, gap) => sum + LOG_ENVELOPE_BYTES + JSON.stringify({ gap }).length, 0) + 2 * EMF_LINE_BYTES;
      measure.shards = queued.length;
      const txBefore = txBytes();
      for (let b = 0; b < queued.length; b += PROBE_BATCH_SIZE) {
        const batch = queued.slice(b, b + PROBE_BATCH_SIZE);
        const sockets = Math.max(1, Math.floor(PROBE_SOCKET_CONCURRENCY / batch.length));
        const t0 = performance.now();
        const outcomes = await Promise.all(
          batch.map((shard) => probeShard(shard, { store, probe: { concurrency: sockets } })),
        );
        measure.invocationMs.push(Math.round(performance.now() - t0));
        measure.invocations++;
        for (const shard of batch) measure.shardMessageBytes.push(Buffer.byteLength(encodeShardMessage(shard)));
        for (const outcome of outcomes) {
          measure.events += outcome.events.length;
          measure.alerts += outcome.events.filter((event) => event.alerts.length > 0).length;
          for (const [state, n] of Object.entries(outcome.countsByState)) {
            measure.countsByState[state] = (measure.countsByState[state] ?? 0) + (n ?? 0);
          }
        }
      }
      measure.probeBytesOut = txBytes() - txBefore;
      m = undefined;
      // Ground truth and stored bytes, read outside the count.
      let endpointBytes = 0;
      let scanBytes = 0;
      let cursor: Record<string, unknown> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: cursor }));
        for (const item of page.Items ?? []) {
          const copies = 1 + ["GSI1PK", "GSI2PK", "GSI3PK", "GSI4PK"].filter((k) => item[k] !== undefined).length;
          if (item.type === "state" || item.type === "digest") endpointBytes += copies * (itemBytes(item) + 100);
          if (item.PK === `SCAN#${scanId}`) scanBytes += copies * (itemBytes(item) + 100);
          if (item.type === "state" && truth.get(String(item.ip)) === item.state) measure.correct++;
        }
        cursor = page.LastEvaluatedKey;
      } while (cursor);
      measure.storedBytesPerEndpoint = endpointBytes / targets.length;
      measure.storedBytesPerScan = scanBytes;
      results.push(measure);
      process.stderr.write(
        `  ${job.scenario} cycle ${i + 1} (${plan.name}): ${measure.invocations} invocations, ${measure.correct}/${targets.length} right\n`,
      );
    }
  } finally {
    client.destroy();
    await dynamo.stop();
  }
  writeFileSync(job.out, JSON.stringify(results));
}

/** Median import time of the probe function's bundle in a fresh process: the function's INIT (bench/probe-bundle.ts). */
function measureInitSeconds(): number {
  const run = spawnSync(process.execPath, [join(import.meta.dirname, "probe-bundle.ts"), "5"], { encoding: "utf8" });
  const line = run.stdout.trim().split("\n").at(-1) ?? "{}";
  const ms = (JSON.parse(line) as { importMsMedian?: number }).importMsMedian;
  if (run.status !== 0 || ms === undefined)
    throw new Error(`measuring the probe bundle failed: ${run.stderr.trim().split("\n").at(-1)}`);
  return ms / 1000;
}

async function runScenario(
  scenario: string,
  size: number,
  openShare: number,
  cycles: CyclePlan[],
): Promise<CycleMeasure[]> {
  const fleet = await Fleet.create({ size, openShare, closedShare: 0.3 });
  try {
    const truthFile = join(fleet.workDir, "truth.json");
    writeFileSync(truthFile, JSON.stringify(Object.fromEntries(fleet.endpoints.map((e) => [e.ip, e.truth]))));
    const job: ChildJob = {
      scenario,
      targetsFile: fleet.targetsFile,
      truthFile,
      cycles,
      out: join(fleet.workDir, "cost.json"),
    };
    const jobFile = join(fleet.workDir, "cost-job.json");
    writeFileSync(jobFile, JSON.stringify(job));
    const args = fleet.execArgs(fleet.scannerNs, process.execPath, [
      new URL(import.meta.url).pathname,
      "--child",
      jobFile,
    ]);
    const code = await new Promise<number | null>((resolve) =>
      spawn("ip", args, { stdio: ["ignore", "inherit", "inherit"] }).on("exit", resolve),
    );
    if (code !== 0) throw new Error(`the ${scenario} run failed (exit ${code})`);
    return JSON.parse(readFileSync(job.out, "utf8")) as CycleMeasure[];
  } finally {
    await fleet.teardown();
  }
}

const money = (n: number) => `$${n.toFixed(2)}`;

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--child") {
    await child(JSON.parse(readFileSync(argv[1] as string, "utf8")) as ChildJob);
    return 0;
  }
  const { values } = parseCommandArgs(argv, { size: { type: "string" }, small: { type: "string" } }, false);
  const size = intOption("size", values.size, 100_000, 1_000, 100_000);
  const small = intOption("small", values.small, 1_000, 100, 10_000);
  const initSeconds = measureInitSeconds();
  const deployment: Deployment = { ...DEPLOYMENT, initSeconds };
  process.stderr.write(`probe INIT (bundle import, median): ${(initSeconds * 1000).toFixed(0)} ms\n`);
  const onePercent = await runScenario("1% exposed", size, 0.01, [
    { name: "first sweep", gaps: 0 },
    { name: "steady", gaps: 0 },
    { name: "steady, 1,000 gaps", gaps: 1_000 },
  ]);
  const tenPercent = await runScenario("10% exposed", size, 0.1, [
    { name: "first sweep", gaps: 0 },
    { name: "steady", gaps: 0 },
  ]);
  const smallFleet = await runScenario("1,000 IPs", small, 0.01, [
    { name: "first sweep", gaps: 0 },
    { name: "steady", gaps: 0 },
  ]);
  const bill = (key: "A" | "B" | "C" | "D", label: string, addresses: number, cycle: CycleMeasure) => {
    // Reading the inventory: ~500 accounts x 17 regions for 100,000 IPs, a handful of accounts for 1,000.
    const enumerateSeconds = addresses >= 100_000 ? 60 : 10;
    return {
      key,
      label,
      addresses,
      enumerateSeconds,
      cycle,
      items: monthlyBill(cycle, addresses, deployment, enumerateSeconds),
    };
  };
  const result: CostResult = {
    deployment,
    bills: [
      bill("A", "100k, 1% exposed", 100_000, onePercent[1]!),
      bill("B", "100k, 10% exposed", 100_000, tenPercent[1]!),
      bill("C", "100k, 1,000 gaps", 100_000, onePercent[2]!),
      bill("D", "1,000 IPs", 1_000, smallFleet[1]!),
    ],
  };
  const lines: string[] = [
    `measured cycles (lab fleets; sizes ${size.toLocaleString("en-US")} and ${small.toLocaleString("en-US")}):`,
  ];
  for (const c of [...onePercent, ...tenPercent, ...smallFleet]) {
    lines.push(
      `  ${c.scenario}, cycle ${c.cycle}: ${c.targets} targets, ${c.shards} shards in ${c.invocations} invocations (mean ${Math.round(c.invocationMs.reduce((a, b) => a + b, 0) / Math.max(1, c.invocations))} ms); DynamoDB ${Object.entries(
        c.requests,
      )
        .map(([k, v]) => `${k.replace("Command", "")} ${v}`)
        .join(
          ", ",
        )}; read units ${JSON.stringify(c.readUnits)}, write units ${JSON.stringify(c.writeUnits)}; ${c.events} events, ${c.alerts} alerting; ${c.probeBytesOut} bytes out; right ${c.correct}/${c.targets}`,
    );
    // Units by operation and item kind (DIGEST, SEEN, SCAN, ENDPOINT...), failed conditional writes included.
    lines.push(
      `    by operation: ${Object.entries(c.operations ?? {})
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([op, { requests, units }]) => `${op} ${requests} requests ${Math.round(units * 10) / 10} units`)
        .join("; ")}`,
    );
  }
  lines.push("", "prices (us-east-1 list):");
  for (const [name, price] of Object.entries(PRICES))
    lines.push(`  ${name}: $${price.usd} per ${price.unit} (${price.source})`);
  for (const b of result.bills) {
    const scaled = b.cycle.targets === b.addresses ? "" : ` (scaled from ${b.cycle.targets} measured targets)`;
    lines.push(
      "",
      `${b.label}: ${b.addresses.toLocaleString("en-US")} IPs every 15 minutes, 2,880 sweeps a month${scaled}:`,
    );
    for (const item of b.items) lines.push(`  ${item.name}: ${item.quantity} -> ${money(item.usd)}`);
    lines.push(`  total: ${money(total(b.items))}`);
  }
  const accurate = result.bills.every((b) => b.cycle.correct === b.cycle.targets);
  lines.push(
    "",
    breakdownTable(result),
    "",
    `accuracy: ${accurate ? "every recorded state matches the fleet's ground truth" : "SOME RECORDED STATES ARE WRONG"}`,
  );
  mkdirSync(join(import.meta.dirname, "results"), { recursive: true });
  writeFileSync(join(import.meta.dirname, "results", "cost.json"), `${JSON.stringify(result, null, 1)}\n`);
  process.stdout.write(`${lines.join("\n")}\n${lastLine(result)}\n`);
  return accurate ? 0 : 1;
}

if (import.meta.main) runBenchEntry("cost", () => main(process.argv.slice(2)));
