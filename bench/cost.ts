// Cost arithmetic from counted requests: runs whole scan cycles of the real code (startScanCycle,
// probeShard with the adaptive scheduler, the DynamoDB store) against a lab fleet, inside the scanner
// namespace, with DynamoDB Local started in that namespace too. It counts every DynamoDB request and
// the capacity units DynamoDB reports, every shard message (bytes -> billed SQS requests) and every
// alert (SNS publishes), times each shard and reads the peak RSS, then scales per address and cycle
// to 100,000 addresses every 15 minutes. Usage (root): node bench/cost.ts [--size 5000] [--cycles 3]
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { intOption, parseCommandArgs } from "../cli/args.ts";
import type { Target } from "../shared/exposure/model.ts";
import { DEFAULT_SOCKETS } from "../shared/probe/adaptive.ts";
import { encodeShardMessage, probeShard, type ShardMessage, startScanCycle } from "../shared/scan/shards.ts";
import { createLocalDocumentClient } from "../shared/store/client.ts";
import { DynamoExposureStore } from "../shared/store/dynamo-store.ts";
import { startLocalDynamo } from "../shared/store/local-dynamo.ts";
import { ensureTable } from "../shared/store/table.ts";
import { Fleet, teardownAllFleetsSync } from "./fleet.ts";

const SHARD_SIZE = 500; // infra/sizing.ts SHARD_SIZE
const SOCKETS = DEFAULT_SOCKETS; // the engine's default, the probe function's too (infra/sizing.ts)
const PROBE_MEMORY_GB = 1; // infra/sizing.ts PROBE_MEMORY_MB / 1024

export interface CycleCount {
  cycle: number;
  targets: number;
  shards: number;
  /** DynamoDB requests by command name. */
  requests: Record<string, number>;
  readUnits: number;
  writeUnits: number;
  shardMessageBytes: number[];
  events: number;
  alerts: number;
  shardWallMs: number[];
  peakRssMb: number;
  /** What the probes said, summed over the cycle's shards. */
  countsByState: Record<string, number>;
}

/** The child: runs the cycles against the target list, from inside the scanner namespace. */
async function child(targetsFile: string, cycles: number, out: string): Promise<void> {
  const targets: Target[] = readFileSync(targetsFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((host) => ({ host, port: 6379 }));
  const dynamo = await startLocalDynamo({ inMemory: true });
  const client = createLocalDocumentClient(dynamo.endpoint);
  let counting: CycleCount | undefined;
  // Count every request and ask DynamoDB for the capacity each one consumed.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      if (counting) {
        counting.requests[context.commandName ?? "?"] = (counting.requests[context.commandName ?? "?"] ?? 0) + 1;
        input.ReturnConsumedCapacity = "TOTAL";
      }
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
        const capacity = entry as { ReadCapacityUnits?: number; WriteCapacityUnits?: number; CapacityUnits?: number };
        if (!counting) continue;
        if (capacity.ReadCapacityUnits !== undefined || capacity.WriteCapacityUnits !== undefined) {
          counting.readUnits += capacity.ReadCapacityUnits ?? 0;
          counting.writeUnits += capacity.WriteCapacityUnits ?? 0;
        } else if (/Get|Query|Scan/.test(context.commandName ?? "")) counting.readUnits += capacity.CapacityUnits ?? 0;
        else counting.writeUnits += capacity.CapacityUnits ?? 0;
      }
      return result;
    },
    { step: "initialize", name: "benchCountRequests" },
  );
  const tableName = "exposure-bench";
  await ensureTable(client, tableName);
  const store = new DynamoExposureStore({ client, tableName });
  const results: CycleCount[] = [];
  try {
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const count: CycleCount = {
        cycle,
        targets: targets.length,
        shards: 0,
        requests: {},
        readUnits: 0,
        writeUnits: 0,
        shardMessageBytes: [],
        events: 0,
        alerts: 0,
        shardWallMs: [],
        peakRssMb: 0,
        countsByState: {},
      };
      counting = count;
      const queued: ShardMessage[] = [];
      const scanId = `bench-cycle-${cycle}-${Date.now()}`;
      await startScanCycle({
        scanId,
        readInventory: async () => ({
          targets,
          summary: { accountsRead: ["111122223333"], regionsRead: ["us-east-1"], gaps: [] },
        }),
        store,
        queue: {
          send: async (messages) => {
            queued.push(...messages);
          },
        },
        shardLimits: { maxTargets: SHARD_SIZE },
      });
      count.shards = queued.length;
      for (const shard of queued) {
        count.shardMessageBytes.push(Buffer.byteLength(encodeShardMessage(shard)));
        const started = performance.now();
        const outcome = await probeShard(shard, { store, probe: { concurrency: SOCKETS } });
        count.shardWallMs.push(Math.round(performance.now() - started));
        count.events += outcome.events.length;
        for (const [state, n] of Object.entries(outcome.countsByState)) {
          count.countsByState[state] = (count.countsByState[state] ?? 0) + (n ?? 0);
        }
        count.alerts += outcome.events.reduce((sum, event) => sum + event.alerts.length, 0);
      }
      count.peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      results.push(count);
    }
  } finally {
    counting = undefined;
    client.destroy();
    await dynamo.stop();
  }
  writeFileSync(out, JSON.stringify(results));
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const money = (n: number) => `$${n.toFixed(2)}`;
const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** Monthly arithmetic for `addresses` probed `cyclesPerMonth` times, from one steady-state cycle's counts. */
export function monthlyCost(steady: CycleCount, addresses: number, cyclesPerMonth: number) {
  const scale = addresses / steady.targets;
  const shardsPerCycle = Math.ceil(addresses / SHARD_SIZE);
  const meanShardSeconds = sum(steady.shardWallMs) / steady.shardWallMs.length / 1000;
  // Lambda bills duration by the millisecond.
  const gbSeconds = shardsPerCycle * cyclesPerMonth * meanShardSeconds * PROBE_MEMORY_GB;
  const readUnits = steady.readUnits * scale * cyclesPerMonth;
  const writeUnits = steady.writeUnits * scale * cyclesPerMonth;
  const meanMessageBytes = sum(steady.shardMessageBytes) / steady.shardMessageBytes.length;
  // SQS bills each 64 KB chunk of a message, on send and on receive, plus one delete per message.
  const sqsRequests = shardsPerCycle * cyclesPerMonth * (2 * Math.ceil(meanMessageBytes / 65_536) + 1);
  return {
    shardsPerCycle,
    meanShardSeconds,
    lambdaGbSeconds: gbSeconds,
    lambdaCost: gbSeconds * 0.0000133334 + shardsPerCycle * cyclesPerMonth * 0.2e-6,
    readUnits,
    readCost: (readUnits / 1e6) * 0.125,
    writeUnits,
    writeCost: (writeUnits / 1e6) * 0.625,
    sqsRequests,
    sqsCost: (sqsRequests / 1e6) * 0.4,
  };
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--child") {
    await child(argv[1] as string, Number(argv[2]), argv[3] as string);
    return;
  }
  const { values } = parseCommandArgs(argv, { size: { type: "string" }, cycles: { type: "string" } }, false);
  const size = intOption("size", values.size, 5_000, 500, 50_000);
  const cycles = intOption("cycles", values.cycles, 3, 2, 10);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      teardownAllFleetsSync();
      process.exit(130);
    });
  }
  const fleet = await Fleet.create({ size });
  try {
    const out = join(fleet.workDir, "cost.json");
    const args = fleet.execArgs(fleet.scannerNs, process.execPath, [
      new URL(import.meta.url).pathname,
      "--child",
      fleet.targetsFile,
      String(cycles),
      out,
    ]);
    const code = await new Promise<number | null>((resolve) => {
      const run = spawn("ip", args, { stdio: ["ignore", "inherit", "inherit"] });
      run.on("exit", resolve);
    });
    if (code !== 0) throw new Error(`cost run failed (exit ${code})`);
    const counts = JSON.parse(readFileSync(out, "utf8")) as CycleCount[];
    const lines = [`scan cycles over a ${int(size)}-endpoint lab fleet (shards of ${SHARD_SIZE}, ${SOCKETS} sockets):`];
    for (const c of counts) {
      lines.push(
        `  cycle ${c.cycle}: ${c.shards} shards, DynamoDB ${Object.entries(c.requests)
          .map(([k, v]) => `${k} ${int(v)}`)
          .join(
            ", ",
          )}; ${int(c.readUnits)} read units, ${int(c.writeUnits)} write units; ${c.events} events, ${c.alerts} alerts; shard wall mean ${int(sum(c.shardWallMs) / c.shardWallMs.length)} ms (max ${int(Math.max(...c.shardWallMs))}); shard message ${int(sum(c.shardMessageBytes) / c.shardMessageBytes.length)} bytes; peak RSS ${c.peakRssMb} MB; states ${JSON.stringify(c.countsByState)}`,
      );
    }
    const steady = counts[counts.length - 1] as CycleCount;
    const month = monthlyCost(steady, 100_000, 2_880);
    lines.push(
      "",
      "100,000 addresses every 15 minutes (2,880 cycles a month), scaled from the last (steady-state) cycle:",
      `  Lambda probe: ${int(month.shardsPerCycle)} shards x 2,880 x ${month.meanShardSeconds.toFixed(2)} s x 1 GB = ${int(month.lambdaGbSeconds)} GB-s -> ${money(month.lambdaCost)} (with requests)`,
      `  DynamoDB reads: ${int(month.readUnits)} units -> ${money(month.readCost)}; writes: ${int(month.writeUnits)} units -> ${money(month.writeCost)} (changes come on top: cycle 1 wrote ${int(counts[0]?.writeUnits ?? 0)} units for ${int(size)} new endpoints)`,
      `  SQS: ${int(month.sqsRequests)} billed requests -> ${money(month.sqsCost)} (plus the event source's idle polling)`,
      `  SNS: one publish per alert; a steady fleet raises none (cycle 1: ${counts[0]?.alerts ?? 0} alerts for ${int(size)} new endpoints)`,
    );
    process.stdout.write(`${lines.join("\n")}\n${JSON.stringify({ size, counts, month })}\n`);
  } finally {
    await fleet.teardown();
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`cost: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n`);
    process.exitCode = 1;
  });
}
