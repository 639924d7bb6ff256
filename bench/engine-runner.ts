// Runs the project's probe engine over a target list, as the bench's child process inside the
// scanner namespace (`ip netns exec xs-... node <bundle of this file> ...`), so nothing it sends
// can leave the lab. Writes one ProbeResult per line to --out and prints a summary as JSON on stdout:
// wall time, peak RSS, the most sockets it ever held and what the scheduler did.
// For experiments, EXPOSURE_BENCH_PERCENTILE and EXPOSURE_BENCH_LAUNCHES_PER_TICK override the
// scheduler's overallPercentile and launchesPerTick.
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { ProbeResult, Target } from "../shared/exposure/model.ts";
import { type AdaptiveOptions, emptyStats } from "../shared/probe/adaptive.ts";
import { probeAdaptive } from "../shared/probe/scheduler.ts";
import { probeAll } from "./fixed-runner.ts";

export interface EngineSummary {
  engine: "adaptive" | "fixed";
  targets: number;
  wallMs: number;
  /** CPU time (user + system) of the run, ms. */
  cpuMs: number;
  /** The kernel's share of it (connects, and the lab's packet path that runs in our context). */
  cpuSystemMs: number;
  maxRssMb: number;
  /** Most file descriptors open at once beyond those open at the start (sampled every 250 ms). */
  peakSockets: number;
  maxInFlight: number;
  scheduler?: ReturnType<typeof emptyStats>;
  /** How late the event loop ran (a busy loop delays connect events past short timeouts). */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  settings: Record<string, number | string>;
}

/** Open file descriptors of this process (sockets, plus a handful of pipes and files). */
function openFiles(): number {
  return readdirSync("/proc/self/fd").length;
}

function option(argv: string[], name: string, fallback?: string): string {
  const index = argv.indexOf(`--${name}`);
  const value = index >= 0 ? argv[index + 1] : fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

async function main(argv: string[]): Promise<void> {
  const targetsFile = option(argv, "targets");
  const out = option(argv, "out");
  const port = Number(option(argv, "port", "6379"));
  const sockets = Number(option(argv, "sockets", "1000"));
  const engine = option(argv, "engine", "adaptive") as "adaptive" | "fixed";
  const fixedTimeoutMs = Number(option(argv, "timeout", "2000"));
  const priorFile = argv.includes("--prior") ? option(argv, "prior") : undefined;
  const targets: Target[] = readFileSync(targetsFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((host) => ({ host, port }));
  const prior = new Map<string, ProbeResult["exposure"]>();
  if (priorFile) {
    for (const line of readFileSync(priorFile, "utf8").split("\n").filter(Boolean)) {
      const result = JSON.parse(line) as ProbeResult;
      prior.set(result.ip, result.exposure);
    }
  }

  let peakFiles = 0;
  const sampler = setInterval(() => {
    peakFiles = Math.max(peakFiles, openFiles());
  }, 250);
  const baseline = openFiles();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const stats = emptyStats();
  // Results go to the file as they come: the runner's own memory should not count against the engine's.
  const output = openSync(out, "w");
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const settings: Partial<AdaptiveOptions> = { concurrency: sockets };
  if (process.env.EXPOSURE_BENCH_PERCENTILE) settings.overallPercentile = Number(process.env.EXPOSURE_BENCH_PERCENTILE);
  if (process.env.EXPOSURE_BENCH_LAUNCHES_PER_TICK)
    settings.launchesPerTick = Number(process.env.EXPOSURE_BENCH_LAUNCHES_PER_TICK);
  if (prior.size > 0) settings.previousExposure = (target) => prior.get(target.host);
  const stream =
    engine === "adaptive"
      ? probeAdaptive(targets, settings, {}, undefined, stats)
      : probeAll(targets, { concurrency: sockets, connectTimeoutMs: fixedTimeoutMs });
  let maxInFlight = 0;
  let pending = "";
  let count = 0;
  for await (const result of stream) {
    pending += `${JSON.stringify(result)}\n`;
    if (++count % 500 === 0) {
      writeSync(output, pending);
      pending = "";
    }
  }
  writeSync(output, pending);
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  const peakSockets = Math.max(0, peakFiles - baseline);
  maxInFlight = engine === "adaptive" ? stats.maxInFlight : Math.min(sockets, targets.length);
  closeSync(output);
  const summary: EngineSummary = {
    engine,
    targets: targets.length,
    wallMs: Math.round(wallMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    cpuSystemMs: Math.round(cpu.system / 1000),
    maxRssMb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
    peakSockets,
    maxInFlight,
    eventLoopDelayMs: {
      p50: Math.round(loopDelay.percentile(50) / 1e6),
      p99: Math.round(loopDelay.percentile(99) / 1e6),
      max: Math.round(loopDelay.max / 1e6),
    },
    settings: engine === "adaptive" ? { sockets } : { sockets, timeoutMs: fixedTimeoutMs },
  };
  if (engine === "adaptive") summary.scheduler = stats;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`engine-runner: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
