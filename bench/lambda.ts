// The Lambda scenario of `npm run bench` (`--scenario lambda`): the probe function's figures at the
// shard sizes of infra/sizing.ts. One invocation probes PROBE_BATCH_SIZE shards of SHARD_SIZE targets
// at most, with PROBE_SOCKET_CONCURRENCY sockets shared between them (functions/probe.ts), so the
// engine runs on fleets of 1, 2, 4 and PROBE_BATCH_SIZE shards (the default mix: 60% filtered, 30%
// closed, 10% open) with those sockets, each size `--runs` times (median by wall time): its time,
// CPU and peak memory. Then bench/probe-bundle.ts: the function's bundle size and cold start.
// The engine alone, on this machine: the function also reads and writes the store, and in Lambda
// its memory setting buys a share of a CPU (docs/readme-bench.md, "Performance").
import { join } from "node:path";
import { PROBE_BATCH_SIZE, PROBE_SOCKET_CONCURRENCY, SHARD_SIZE } from "../infra/sizing.ts";
import type { EngineSummary } from "./engine-runner.ts";
import { Fleet, type FleetOptions } from "./fleet.ts";
import type { Timed } from "./store.ts";

export interface LambdaBenchTools {
  run(command: string, args: string[], timeoutMs: number): Promise<Timed>;
  runEngine(
    fleet: Fleet,
    sockets: number,
    extra: string[],
  ): Promise<{ wallMs: number; cpuMs: number; peakRssMb: number; engine?: EngineSummary; score: { correct: number } }>;
}

export interface ShardRun {
  shards: number;
  targets: number;
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
  attemptsByPass: number[];
  meanTimeoutByPass: number[];
  correct: number;
  /** Every round's wall time, ms. */
  wallMsRuns: number[];
}

export interface BundleFigures {
  bundleBytes: number;
  gzipBytes: number;
  runs: number;
  importMsMedian: number;
  importCpuMsMedian: number;
  rssMbAfterImport: number;
}

export interface LambdaReport {
  scenario: "lambda";
  sockets: number;
  shardSize: number;
  sizes: ShardRun[];
  bundle: BundleFigures | null;
  checks: Array<{ name: string; pass: boolean; detail: string }>;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function runLambdaScenario(
  tools: LambdaBenchTools,
  overrides: Partial<FleetOptions>,
  rounds: number,
): Promise<LambdaReport> {
  const sockets = PROBE_SOCKET_CONCURRENCY;
  const sizes: ShardRun[] = [];
  const checks: LambdaReport["checks"] = [];
  for (const shards of [1, 2, 4, PROBE_BATCH_SIZE]) {
    const targets = shards * SHARD_SIZE;
    const fleet = await Fleet.create({ ...overrides, size: targets });
    try {
      const runs = [];
      for (let i = 1; i <= rounds; i++) {
        await fleet.resetSynDrops();
        process.stderr.write(`[lambda] ${targets} targets (${shards} x ${SHARD_SIZE}), round ${i}/${rounds}\n`);
        runs.push(await tools.runEngine(fleet, sockets, []));
      }
      const median = [...runs].sort((a, b) => a.wallMs - b.wallMs)[(runs.length - 1) >> 1] as (typeof runs)[number];
      const scheduler = median.engine?.scheduler;
      sizes.push({
        shards,
        targets,
        wallMs: median.wallMs,
        cpuMs: median.cpuMs,
        peakRssMb: median.peakRssMb,
        attemptsByPass: scheduler?.attemptsByPass ?? [],
        meanTimeoutByPass: scheduler?.meanTimeoutByPass ?? [],
        correct: median.score.correct,
        wallMsRuns: runs.map((run) => run.wallMs),
      });
      const worst = Math.min(...runs.map((run) => run.score.correct));
      checks.push({
        name: `${targets} targets: every state right in every run`,
        pass: worst === targets,
        detail: `worst run ${worst}/${targets}`,
      });
    } finally {
      await fleet.teardown();
    }
  }
  const bundleRun = await tools.run(process.execPath, [join(import.meta.dirname, "probe-bundle.ts"), "9"], 300_000);
  const last = bundleRun.stdout.trim().split("\n").pop() ?? "";
  const bundle = bundleRun.code === 0 && last.startsWith("{") ? (JSON.parse(last) as BundleFigures) : null;
  checks.push({
    name: "probe function bundle built and imported",
    pass: bundle !== null,
    detail: bundle ? `${(bundle.bundleBytes / 1024).toFixed(0)} KiB` : bundleRun.stderr.trim().slice(-300),
  });
  return { scenario: "lambda", sockets, shardSize: SHARD_SIZE, sizes, bundle, checks };
}

export function printLambdaReport(report: LambdaReport): void {
  const lines = [
    "",
    `== scenario lambda: the probe function's shard sizes (infra/sizing.ts: ${report.shardSize} targets a shard, ${report.sockets} sockets), the engine alone`,
    "",
    "| targets | wall | CPU | peak RSS | attempts (passes) | mean timeout per pass | right |",
    "| ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ...report.sizes.map((size) => {
      const attempts = size.attemptsByPass.reduce((sum, n) => sum + n, 0);
      const label = `${size.targets.toLocaleString("en-US")} (${size.shards} shard${size.shards > 1 ? "s" : ""})`;
      return `| ${label} | ${secs(size.wallMs)} | ${secs(size.cpuMs)} | ${Math.round(size.peakRssMb)} MB | ${attempts.toLocaleString("en-US")} (${size.attemptsByPass.length}) | ${size.meanTimeoutByPass.join(" / ")} ms | ${size.correct}/${size.targets} |`;
    }),
    "",
    ...report.sizes.map(
      (size) => `${size.targets} targets, runs: ${size.wallMsRuns.map((ms) => secs(ms)).join(" / ")}`,
    ),
  ];
  if (report.bundle) {
    const b = report.bundle;
    lines.push(
      `probe function bundle: ${(b.bundleBytes / 1024).toFixed(0)} KiB minified, ${(b.gzipBytes / 1024).toFixed(0)} KiB gzipped`,
      `cold start (import of the bundle, median of ${b.runs} fresh processes): ${b.importMsMedian} ms wall, ${b.importCpuMsMedian} ms CPU, ${b.rssMbAfterImport} MB RSS`,
    );
  }
  for (const check of report.checks) lines.push(`${check.pass ? "PASS" : "FAIL"}  ${check.name}: ${check.detail}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}
