// `npm run bench` (as root): builds the fleet (bench/fleet.ts), runs the project's probe engine,
// `exposure probe --json --targets FILE` as a user runs it (the installed bundle, process start
// included), nmap and nmap -T5 against it from the scanner namespace, three rounds per scenario;
// scores every run against ground truth and prints wall time, CPU (per connection attempt for the
// engine), targets/s, peak RSS, accuracy per state, the median nmap/engine and nmap/probe ratios and
// the engine's lower bound. Writes everything to bench/results/<date>.json.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, getPriority, loadavg, setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { EXIT_FAILURE, intOption, parseCommandArgs, UsageError } from "../cli/args.ts";
import type { ProbeResult, ProbeState } from "../shared/exposure/model.ts";
import { classifyError } from "../shared/probe/redis/classify.ts";
import type { EngineSummary } from "./engine-runner.ts";
import { DEFAULT_FLEET, Fleet, type FleetOptions, runBenchEntry, truthCounts } from "./fleet.ts";
import { type LambdaReport, printLambdaReport, runLambdaScenario } from "./lambda.ts";
import { parseNmapXml, type Score, score, statesInOrder, type Verdict, verdictOf } from "./score.ts";
import { printStoreReport, runStoreScenario, type StoreReport } from "./store.ts";

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const RESULTS_DIR = join(BENCH_DIR, "results");

export interface Scenario {
  name: string;
  fleet: Partial<FleetOptions>;
}

export const SCENARIOS: Record<string, Scenario> = {
  default: { name: "default", fleet: {} },
  // 1% loss each way on the scanner link, slow answerers and accept-and-close endpoints.
  lossy: { name: "lossy", fleet: { loss: 0.01, slow: 100, dropped: 50 } },
  // The default mix at addresses of a documentation /64 (2001:db8:0:1::/64).
  ipv6: { name: "ipv6", fleet: { family: "ipv6" } },
};

interface Targets {
  accuracy: number;
  /** Median nmap (default timing) / tool, for the engine and for `exposure probe`. */
  speedup?: number;
  /** Median nmap -T5 / tool. */
  speedupT5?: number;
  /** The engine's median run within this factor of its lower bound. */
  boundFactor?: number;
  rssMb: number;
  sockets: number;
}

/** What the engine and `exposure probe` must reach, per scenario (docs/readme-bench.md). */
export const TARGETS: Record<string, Targets> = {
  default: { accuracy: 1, speedup: 8, speedupT5: 4, boundFactor: 1.5, rssMb: 256, sockets: 1_000 },
  lossy: { accuracy: 0.999, speedup: 15, rssMb: 256, sockets: 1_000 },
  ipv6: { accuracy: 1, rssMb: 256, sockets: 1_000 },
};

export const TOOLS = ["engine", "probe", "nmap", "nmap -T5"] as const;
export type ToolName = (typeof TOOLS)[number];

/** The installed CLI's entry: what `npm install -g` puts on PATH (built by `npm run build`). */
const CLI_BUNDLE = join(BENCH_DIR, "..", "dist", "exposure.js");

export interface ToolRun {
  tool: ToolName;
  wallMs: number;
  /** CPU time of the tool's process (the engine's own count; nmap's from /proc, polled every 50 ms). */
  cpuMs: number;
  targetsPerSecond: number;
  peakRssMb: number;
  score: Score;
  engine?: EngineSummary;
}

export interface ScenarioReport {
  scenario: string;
  fleet: FleetOptions & { counts: Partial<Record<ProbeState, number>> };
  sockets: number;
  /** Each tool's median run (by wall time). */
  runs: ToolRun[];
  /** Every run, round by round. */
  rounds: Array<Partial<Record<ToolName, ToolRun>>>;
  /** nmap / engine, median over the rounds. */
  ratio: number | null;
  /** Every ratio of the scenario ("nmap / engine", "nmap -T5 / probe", ...): the median and each round's. */
  ratios: Record<string, { median: number; rounds: number[] }>;
  /** The engine's CPU per connection attempt in its median run, microseconds. */
  cpuPerAttemptUs?: number;
  lowerBound?: { ms: number; formula: string; closeness: number };
  checks: Array<{ name: string; pass: boolean; detail: string }>;
}

interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** The child's VmHWM (peak resident set), polled from /proc while it runs. */
  peakRssMb: number;
  /** The child's CPU time (user + system), from /proc/<pid>/stat at the last poll before it ended. */
  cpuMs: number;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

function cpuMsOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function vmHwmMb(pid: number | undefined): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0; // exited between two polls
  }
}

/** Runs a command to completion (`ip netns exec` execs into it, so the pid is the command's own), timing it. */
function run(command: string, args: string[], timeoutMs: number): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let peakRssMb = 0;
    let cpuMs = 0;
    const poll = setInterval(() => {
      peakRssMb = Math.max(peakRssMb, vmHwmMb(child.pid));
      cpuMs = Math.max(cpuMs, cpuMsOf(child.pid));
    }, 50);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(error);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      const wallMs = performance.now() - started;
      resolve({
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        wallMs,
        peakRssMb,
        cpuMs,
      });
    });
  });
}

async function ensureNmap(): Promise<void> {
  const found = await run("sh", ["-c", "command -v nmap"], 10_000);
  if (found.code === 0) return;
  process.stderr.write("nmap missing: installing it from Debian (apt-get install nmap)\n");
  const install = await run(
    "sh",
    ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nmap"],
    300_000,
  );
  if (install.code !== 0) throw new Error(`could not install nmap: ${install.stderr.trim().split("\n").pop()}`);
}

let engineRunnerBundle: Promise<string> | undefined;

/**
 * The engine runner as JavaScript, bundled once per bench process the way the shipped code is (the CLI's
 * dist/ and the Lambda bundles): run from its TypeScript sources, every engine run would also pay Node's
 * type stripping of ~60 modules at start (0.2-0.3 s), which no user or function pays.
 */
function engineRunner(): Promise<string> {
  engineRunnerBundle ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "exposure-bench-engine-"));
    const outfile = join(dir, "engine-runner.mjs");
    await build({
      entryPoints: [join(BENCH_DIR, "engine-runner.ts")],
      outfile,
      bundle: true,
      platform: "node",
      target: "node22",
      format: "esm",
      // Readable names in CPU profiles (EXPOSURE_BENCH_CPU_PROF).
      minify: false,
      logLevel: "warning",
    });
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    return outfile;
  })();
  return engineRunnerBundle;
}

export async function runEngine(fleet: Fleet, sockets: number, extra: string[]): Promise<ToolRun> {
  const out = join(fleet.workDir, "engine.jsonl");
  const runner = await engineRunner();
  const args = ["--targets", fleet.targetsFile, "--out", out, "--sockets", String(sockets), ...extra];
  // EXPOSURE_BENCH_CPU_PROF=DIR writes a V8 CPU profile of the engine run there (docs/readme-bench.md).
  const profile = process.env.EXPOSURE_BENCH_CPU_PROF;
  const nodeArgs = profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [];
  const result = await run(
    "ip",
    fleet.execArgs(fleet.scannerNs, process.execPath, [...nodeArgs, runner, ...args]),
    240_000,
  );
  if (result.code !== 0)
    throw new Error(`engine run failed (exit ${result.code}): ${result.stderr.trim().slice(-500)}`);
  const summary = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as EngineSummary;
  const verdicts = new Map<string, Verdict>();
  for (const line of readFileSync(out, "utf8").split("\n")) {
    if (!line) continue;
    const probe = JSON.parse(line) as ProbeResult;
    verdicts.set(probe.ip, verdictOf(probe));
  }
  return {
    tool: "engine",
    wallMs: result.wallMs,
    targetsPerSecond: fleet.endpoints.length / (result.wallMs / 1000),
    peakRssMb: Math.max(summary.maxRssMb, result.peakRssMb),
    cpuMs: summary.cpuMs,
    score: score(fleet.endpoints, verdicts),
    engine: summary,
  };
}

/** `exposure probe --json --targets FILE` in the scanner namespace, as a user runs it: process start included. */
export async function runProbeCli(fleet: Fleet): Promise<ToolRun> {
  const args = [CLI_BUNDLE, "probe", "--json", "--targets", fleet.targetsFile];
  // EXPOSURE_BENCH_CPU_PROF=DIR profiles this run too (docs/readme-bench.md).
  const profile = process.env.EXPOSURE_BENCH_CPU_PROF;
  if (profile) args.unshift("--cpu-prof", `--cpu-prof-dir=${profile}`);
  const result = await run("ip", fleet.execArgs(fleet.scannerNs, process.execPath, args), 240_000);
  if (result.code !== 0)
    throw new Error(`exposure probe failed (exit ${result.code}): ${result.stderr.trim().slice(-500)}`);
  const verdicts = new Map<string, Verdict>();
  for (const line of result.stdout.split("\n")) {
    if (!line) continue;
    const probe = JSON.parse(line) as ProbeResult;
    verdicts.set(probe.ip, verdictOf(probe));
  }
  return {
    tool: "probe",
    wallMs: result.wallMs,
    targetsPerSecond: fleet.endpoints.length / (result.wallMs / 1000),
    peakRssMb: result.peakRssMb,
    cpuMs: result.cpuMs,
    score: score(fleet.endpoints, verdicts),
  };
}

/** Builds dist/exposure.js, the bundle `npm install` installs, so the bench runs the CLI as users do. */
async function buildCli(): Promise<void> {
  const built = await run(process.execPath, [join(BENCH_DIR, "..", "cli", "build.ts")], 120_000);
  if (built.code !== 0 || !existsSync(CLI_BUNDLE))
    throw new Error(`npm run build failed (exit ${built.code}): ${built.stderr.trim().slice(-300)}`);
}

export async function runNmap(fleet: Fleet, timing?: "T5"): Promise<ToolRun> {
  const xml = join(fleet.workDir, "nmap.xml");
  const nmapArgs = ["-Pn", "-n", "-sT", "-p6379", "--script", "redis-info", "-iL", fleet.targetsFile, "-oX", xml];
  if (timing) nmapArgs.unshift(`-${timing}`);
  if (fleet.options.family === "ipv6") nmapArgs.unshift("-6");
  const result = await run("ip", fleet.execArgs(fleet.scannerNs, "nmap", nmapArgs), 290_000);
  if (result.code !== 0) throw new Error(`nmap failed (exit ${result.code}): ${result.stderr.trim().slice(-300)}`);
  const verdicts = parseNmapXml(readFileSync(xml, "utf8"), classifyError);
  return {
    tool: timing ? "nmap -T5" : "nmap",
    wallMs: result.wallMs,
    targetsPerSecond: fleet.endpoints.length / (result.wallMs / 1000),
    peakRssMb: result.peakRssMb,
    cpuMs: result.cpuMs,
    score: score(fleet.endpoints, verdicts),
  };
}

const pct = (part: number, whole: number) => `${((100 * part) / Math.max(1, whole)).toFixed(2)}%`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const int = (n: number) => Math.round(n).toLocaleString("en-US");

function lowerBound(
  fleet: Fleet,
  engine: EngineSummary,
  sockets: number,
  results: ToolRun,
): ScenarioReport["lowerBound"] {
  const scheduler = engine.scheduler;
  if (!scheduler) return undefined;
  const filtered = fleet.endpoints.filter((endpoint) => endpoint.truth === "filtered").length;
  const answering = fleet.endpoints.length - filtered;
  // The timeouts a filtered endpoint sat through: one per pass it took part in.
  const passes = scheduler.meanTimeoutByPass.filter((_, pass) => (scheduler.attemptsByPass[pass] ?? 0) >= filtered);
  const perFiltered = passes.reduce((sum, ms) => sum + ms, 0);
  const rttMs = 1; // a round trip between two namespaces is well under a millisecond; counted as 1 ms
  const ms = Math.ceil(filtered / sockets) * perFiltered + Math.ceil(answering / sockets) * rttMs;
  const formula = `ceil(${filtered} filtered / ${sockets} sockets) x (${passes.map((p) => `${p} ms`).join(" + ") || "0"}) + ceil(${answering} answering / ${sockets}) x ${rttMs} ms RTT`;
  return { ms, formula, closeness: ms / results.wallMs };
}

function printReport(report: ScenarioReport): void {
  const lines: string[] = [];
  const { fleet } = report;
  const counts = Object.entries(fleet.counts)
    .map(([state, n]) => `${int(n ?? 0)} ${state}`)
    .join(", ");
  lines.push(
    "",
    `== scenario ${report.scenario}: ${int(fleet.size)} endpoints (${counts})`,
    `   loss ${(fleet.loss * 100).toFixed(1)}% each way, ${fleet.slow} slow answerers, ${report.sockets} sockets at most, seed ${fleet.seed}`,
    "",
    `${"tool".padEnd(8)}${"wall".padStart(10)}${"CPU".padStart(9)}${"targets/s".padStart(11)}${"peak RSS".padStart(11)}${"state accuracy".padStart(26)}${"exposure accuracy".padStart(20)}${"versions".padStart(12)}`,
  );
  for (const runResult of report.runs) {
    const s = runResult.score;
    lines.push(
      `${runResult.tool.padEnd(8)}${secs(runResult.wallMs).padStart(10)}${secs(runResult.cpuMs).padStart(9)}${int(runResult.targetsPerSecond).padStart(11)}${`${runResult.peakRssMb.toFixed(0)} MB`.padStart(11)}${`${pct(s.correct, s.total)} (${int(s.correct)}/${int(s.total)})`.padStart(26)}${pct(s.exposureCorrect, s.total).padStart(20)}${`${s.versionsRead}/${s.versionsExpected}`.padStart(12)}`,
    );
  }
  lines.push(
    "",
    `${"true state".padEnd(22)}${"count".padStart(7)}${report.runs.map((r) => r.tool.padStart(10)).join("")}   wrong verdicts`,
  );
  const first = report.runs[0];
  if (first) {
    for (const state of statesInOrder(first.score.byState)) {
      const cells = report.runs.map((r) => {
        const bucket = r.score.byState[state];
        return pct(bucket?.correct ?? 0, bucket?.total ?? 0).padStart(10);
      });
      const wrong = report.runs
        .map((r) => {
          const entries = Object.entries(r.score.byState[state]?.wrong ?? {});
          return entries.length ? `${r.tool}: ${entries.map(([k, v]) => `${v} ${k}`).join(", ")}` : "";
        })
        .filter(Boolean)
        .join("; ");
      lines.push(
        `${state.padEnd(22)}${int(first.score.byState[state]?.total ?? 0).padStart(7)}${cells.join("")}   ${wrong}`,
      );
    }
  }
  const engine = report.runs.find((r) => r.tool === "engine")?.engine;
  if (engine?.scheduler) {
    const s = engine.scheduler;
    lines.push(
      "",
      `engine: ${s.attempts} connection attempts in ${s.attemptsByPass.length} passes (${s.attemptsByPass.join(" / ")}), mean connect timeout per pass ${s.meanTimeoutByPass.map((ms) => `${ms} ms`).join(" / ")},`,
      `        ${s.recovered} answered only on a retry${s.recoveredByPass?.length ? ` (by pass: ${s.recoveredByPass.join(" / ")})` : ""}, ${s.droppedRechecks} dropped looked at again, silence rate ${(s.silenceRate * 100).toFixed(2)}%, at most ${s.maxInFlight} probes in flight, ${engine.peakSockets} descriptors at peak, event loop delay p99 ${engine.eventLoopDelayMs.p99} ms`,
    );
  }
  if (report.cpuPerAttemptUs !== undefined) {
    lines.push(`engine CPU per connection attempt: ${Math.round(report.cpuPerAttemptUs)} microseconds`);
  }
  if (report.rounds.length > 1) {
    for (const tool of TOOLS) {
      const walls = report.rounds.flatMap((round) => (round[tool] ? [round[tool].wallMs] : []));
      if (walls.length > 0) lines.push(`${tool} runs: ${walls.map((ms) => secs(ms)).join(" / ")}`);
    }
  }
  for (const [name, ratio] of Object.entries(report.ratios)) {
    lines.push(
      `ratio ${name}: ${ratio.median.toFixed(1)}x (median of ${ratio.rounds.length}: ${ratio.rounds.map((r) => `${r.toFixed(1)}x`).join(", ")})`,
    );
  }
  if (report.lowerBound) {
    lines.push(
      `lower bound for the engine's settings: ${secs(report.lowerBound.ms)} = ${report.lowerBound.formula}; the run took ${(1 / report.lowerBound.closeness).toFixed(2)}x the bound`,
    );
  }
  for (const check of report.checks) lines.push(`${check.pass ? "PASS" : "FAIL"}  ${check.name}: ${check.detail}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The run with the median wall time (the lower middle one of an even count). */
function medianRun(runs: ToolRun[]): ToolRun {
  const sorted = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  return sorted[(sorted.length - 1) >> 1] as ToolRun;
}

/** nmap's wall time over the tool's, round by round, and the median of those. */
function ratiosOf(rounds: ScenarioReport["rounds"]): ScenarioReport["ratios"] {
  const ratios: ScenarioReport["ratios"] = {};
  for (const nmap of ["nmap", "nmap -T5"] as const) {
    for (const tool of ["engine", "probe"] as const) {
      const each = rounds.flatMap((round) => {
        const a = round[nmap];
        const b = round[tool];
        return a && b ? [a.wallMs / b.wallMs] : [];
      });
      if (each.length > 0) ratios[`${nmap} / ${tool}`] = { median: median(each), rounds: each };
    }
  }
  return ratios;
}

function checksFor(report: Omit<ScenarioReport, "checks">): ScenarioReport["checks"] {
  const target = TARGETS[report.scenario];
  if (!target) return [];
  const checks: ScenarioReport["checks"] = [];
  const all = (tool: ToolName) => report.rounds.flatMap((round) => (round[tool] ? [round[tool]] : []));
  for (const tool of ["engine", "probe"] as const) {
    const runs = all(tool);
    if (runs.length === 0) continue;
    const worst = runs.reduce((a, b) => (a.score.correct <= b.score.correct ? a : b));
    checks.push({
      name: `${tool}: accuracy >= ${(target.accuracy * 100).toFixed(1)}% in every run`,
      pass: worst.score.correct / worst.score.total >= target.accuracy,
      detail: `worst run ${pct(worst.score.correct, worst.score.total)} of states right`,
    });
    const peak = Math.max(...runs.map((run) => run.peakRssMb));
    checks.push({
      name: `${tool}: peak RSS < ${target.rssMb} MB`,
      pass: peak < target.rssMb,
      detail: `${peak.toFixed(0)} MB`,
    });
    const nmaps = all("nmap");
    if (nmaps.length > 0) {
      const best = nmaps.reduce((a, b) => (a.score.correct >= b.score.correct ? a : b));
      checks.push({
        name: `${tool}: accuracy at least nmap's`,
        pass: worst.score.correct >= best.score.correct && worst.score.exposureCorrect >= best.score.exposureCorrect,
        detail: `states ${int(worst.score.correct)} vs ${int(best.score.correct)}, exposures ${int(worst.score.exposureCorrect)} vs ${int(best.score.exposureCorrect)}`,
      });
    }
    const speedups: Array<[string, number | undefined]> = [
      ["nmap", target.speedup],
      ["nmap -T5", target.speedupT5],
    ];
    for (const [nmap, factor] of speedups) {
      const ratio = report.ratios[`${nmap} / ${tool}`];
      if (factor === undefined || ratio === undefined) continue;
      checks.push({
        name: `${tool}: at least ${factor}x faster than ${nmap} (median)`,
        pass: ratio.median >= factor,
        detail: `${ratio.median.toFixed(1)}x`,
      });
    }
  }
  const engine = report.runs.find((run) => run.tool === "engine")?.engine;
  if (engine) {
    checks.push({
      name: `engine: never more than ${target.sockets} sockets`,
      pass: Math.max(...all("engine").map((run) => run.engine?.maxInFlight ?? 0)) <= target.sockets,
      detail: `${engine.maxInFlight} probes in flight at most (${engine.peakSockets} descriptors sampled)`,
    });
  }
  if (target.boundFactor !== undefined && report.lowerBound) {
    checks.push({
      name: `engine: within ${target.boundFactor}x of its lower bound (median run)`,
      pass: 1 / report.lowerBound.closeness <= target.boundFactor,
      detail: `${(1 / report.lowerBound.closeness).toFixed(2)}x`,
    });
  }
  return checks;
}

export interface BenchPlan {
  sockets: number;
  rounds: number;
  withNmap: boolean;
  withCli: boolean;
  engineArgs: string[];
}

async function runScenario(
  scenario: Scenario,
  overrides: Partial<FleetOptions>,
  plan: BenchPlan,
): Promise<ScenarioReport> {
  const started = performance.now();
  const fleet = await Fleet.create({ ...scenario.fleet, ...overrides });
  const say = (text: string) => process.stderr.write(`[${scenario.name}] ${text}\n`);
  try {
    say(`fleet ${fleet.run} ready in ${secs(performance.now() - started)}`);
    if (fleet.options.family === "ipv6") {
      // Measured: on a fresh IPv6 fleet the first SYN to every address a server namespace answers is
      // lost (all 1,000 open endpoints were silent on the first run's first pass, none on later runs),
      // which only the first tool of the first round would meet. One untimed engine run warms it.
      say("warm-up run of the engine (not timed, not scored)");
      await runEngine(fleet, plan.sockets, plan.engineArgs);
    }
    const rounds: ScenarioReport["rounds"] = [];
    for (let i = 1; i <= plan.rounds; i++) {
      const round: ScenarioReport["rounds"][number] = {};
      // Every tool meets the same fleet: the first-SYN drops are re-armed before each.
      const next = async (tool: ToolName, go: () => Promise<ToolRun>) => {
        await fleet.resetSynDrops();
        say(`round ${i}/${plan.rounds}: ${tool}`);
        round[tool] = await go();
      };
      await next("engine", () => runEngine(fleet, plan.sockets, plan.engineArgs));
      if (plan.withCli) await next("probe", () => runProbeCli(fleet));
      if (plan.withNmap) {
        await next("nmap", () => runNmap(fleet));
        await next("nmap -T5", () => runNmap(fleet, "T5"));
      }
      rounds.push(round);
    }
    const runs = TOOLS.flatMap((tool) => {
      const all = rounds.flatMap((round) => (round[tool] ? [round[tool]] : []));
      return all.length > 0 ? [medianRun(all)] : [];
    });
    const ratios = ratiosOf(rounds);
    const engine = runs.find((run) => run.tool === "engine");
    const partial: Omit<ScenarioReport, "checks"> = {
      scenario: scenario.name,
      fleet: { ...fleet.options, counts: truthCounts(fleet.endpoints) },
      sockets: plan.sockets,
      runs,
      rounds,
      ratio: ratios["nmap / engine"]?.median ?? null,
      ratios,
    };
    const attempts = engine?.engine?.scheduler?.attempts;
    if (engine && attempts) partial.cpuPerAttemptUs = (engine.cpuMs * 1000) / attempts;
    const bound = engine?.engine ? lowerBound(fleet, engine.engine, plan.sockets, engine) : undefined;
    if (bound) partial.lowerBound = bound;
    return { ...partial, checks: checksFor(partial) };
  } finally {
    await fleet.teardown();
  }
}

const USAGE = `usage: npm run bench -- [options]   (as root)
       npm run -s bench -- cost [--size N] [--small N]   the monthly bill (bench/cost.ts)
       npm run -s bench -- fastpath [--events N] [--hour-seconds S]   fast-path latency and cost (bench/fastpath.ts)
  --scenario default|lossy|ipv6|both|store|lambda|all   which fleet (default: all = default, lossy, ipv6, then store)
                  lambda: the engine at the probe function's shard sizes and sockets, then its bundle and cold start
  --runs N        rounds per scenario, each running every tool once (default 3)
  --no-cli        do not time \`exposure probe\` (the installed bundle, dist/exposure.js)
                  store: the embedded store's scan cycles and read commands (bench/store.ts)
  --size N        endpoints (default 10000)
  --loss P        random packet loss each way, e.g. 0.01 (default: the scenario's)
  --slow N        slow answerers (default: the scenario's)
  --sockets N     the engine's sockets at most (default 1000)
  --seed N        fleet layout seed (default 7)
  --engine adaptive|fixed   the adaptive scheduler, or the plain batch runner with --timeout ms
  --no-nmap       run neither nmap nor nmap -T5`;

export async function main(argv: string[]): Promise<number> {
  // `npm run -s bench -- cost`: the monthly bill from counted requests (bench/cost.ts).
  if (argv[0] === "cost") return (await import("./cost.ts")).main(argv.slice(1));
  if (argv[0] === "fastpath") return (await import("./fastpath.ts")).main(argv.slice(1));
  const { values } = parseCommandArgs(
    argv,
    {
      scenario: { type: "string" },
      size: { type: "string" },
      loss: { type: "string" },
      slow: { type: "string" },
      sockets: { type: "string" },
      seed: { type: "string" },
      engine: { type: "string" },
      timeout: { type: "string" },
      "no-nmap": { type: "boolean" },
      "no-cli": { type: "boolean" },
      runs: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    false,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const which = values.scenario ?? "all";
  if (!["both", "store", "lambda", "all"].includes(which) && !Object.hasOwn(SCENARIOS, which))
    throw new UsageError(`--scenario must be default, lossy, ipv6, both, store, lambda or all, got "${which}"`);
  const rounds = intOption("runs", values.runs, 3, 1, 9);
  const overrides: Partial<FleetOptions> = {};
  if (values.size !== undefined) overrides.size = intOption("size", values.size, DEFAULT_FLEET.size, 10, 100_000);
  if (values.slow !== undefined) overrides.slow = intOption("slow", values.slow, 0, 0, 10_000);
  if (values.seed !== undefined) overrides.seed = intOption("seed", values.seed, DEFAULT_FLEET.seed, 0, 2 ** 31);
  if (values.loss !== undefined) {
    const loss = Number(values.loss);
    if (!/^\d*\.?\d+$/.test(values.loss) || !(loss >= 0 && loss < 0.5))
      throw new UsageError(`--loss must be a fraction in [0, 0.5), got "${values.loss}"`);
    overrides.loss = loss;
  }
  const sockets = intOption("sockets", values.sockets, 1_000, 1, 1_000);
  const engineKind = values.engine ?? "adaptive";
  if (engineKind !== "adaptive" && engineKind !== "fixed")
    throw new UsageError(`--engine must be adaptive or fixed, got "${engineKind}"`);
  const engineArgs = ["--engine", engineKind];
  if (values.timeout !== undefined)
    engineArgs.push("--timeout", String(intOption("timeout", values.timeout, 2_000, 10, 60_000)));
  if (typeof process.getuid === "function" && process.getuid() !== 0)
    throw new UsageError("the bench builds network namespaces: run it as root");

  const withNmap = !values["no-nmap"];
  // Other work on a shared machine should disturb the measurement as little as possible: the bench,
  // and through inheritance the fleet's servers, the engine and nmap alike, run at nice -10.
  setPriority(-10);
  const loadAtStart = loadavg();
  process.stdout.write(
    `machine: ${cpus().length} CPUs, nice ${getPriority()}, load average ${loadAtStart.map((n) => n.toFixed(1)).join(" / ")} (1/5/15 min) at start; node ${process.version}\n`,
  );
  const scenarios =
    which === "all"
      ? [SCENARIOS.default, SCENARIOS.lossy, SCENARIOS.ipv6]
      : which === "both"
        ? [SCENARIOS.default, SCENARIOS.lossy]
        : which === "store" || which === "lambda"
          ? []
          : [SCENARIOS[which]];
  if (withNmap && scenarios.length > 0) await ensureNmap();
  const withCli = !values["no-cli"] && scenarios.length > 0;
  if (withCli) await buildCli();
  const plan: BenchPlan = { sockets, rounds, withNmap, withCli, engineArgs };
  const reports: ScenarioReport[] = [];
  for (const scenario of scenarios) {
    if (!scenario) continue;
    const report = await runScenario(scenario, overrides, plan);
    printReport(report);
    reports.push(report);
  }
  let store: StoreReport | undefined;
  if (which === "store" || which === "all") {
    if (!withCli) await buildCli(); // the store scenario runs the installed bundle too
    store = await runStoreScenario({ run, runEngine, cli: CLI_BUNDLE }, overrides, sockets);
    printStoreReport(store);
  }
  let lambda: LambdaReport | undefined;
  if (which === "lambda") {
    lambda = await runLambdaScenario({ run, runEngine }, overrides, rounds);
    printLambdaReport(lambda);
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${new Date().toISOString().replace(/[:]/g, "-").replace(/\..+/, "")}.json`);
  const machine = {
    node: process.version,
    cpus: (await import("node:os")).cpus().length,
    load: (await import("node:os")).loadavg(),
  };
  writeFileSync(
    file,
    `${JSON.stringify({ command: `npm run bench -- ${argv.join(" ")}`.trim(), machine, reports, ...(store ? { store } : {}), ...(lambda ? { lambda } : {}) }, null, 2)}\n`,
  );
  process.stdout.write(`\nresults written to ${file}\n`);
  const checks = [...reports.flatMap((report) => report.checks), ...(store?.checks ?? []), ...(lambda?.checks ?? [])];
  return checks.every((check) => check.pass) ? 0 : EXIT_FAILURE;
}

if (import.meta.main) {
  runBenchEntry(
    "bench",
    () => main(process.argv.slice(2)),
    (error) => error instanceof UsageError,
  );
}
