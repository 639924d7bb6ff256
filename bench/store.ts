// The store scenario of `npm run bench` (`--scenario store`): what the embedded store adds to the laptop's
// main job. On the default fleet (10,000 endpoints: 6,000 filtered, 3,000 closed, 1,000 open) it times,
// each as the user runs it (a fresh process of the installed command, dist/exposure.js, in the scanner
// namespace):
//   probing alone   bench/engine-runner.ts, the same engine and sockets, no store (three runs, the last
//                   two each just before a steady scan)
//   probe           `exposure probe --targets FLEET`: the same through the CLI, no store either
//   first scan      `exposure scan --targets FLEET --store-dir DIR`: every endpoint new, 1,000 events and
//                   their alerts (console, alerts.jsonl, delivery ledger)
//   steady scans    the same command three more times: nothing changed, nothing written
//   exposed         `exposure exposed --store-dir DIR` (1,000 endpoints listed), and `history IP`
// and checks the target: a steady cycle takes at most 1.5x the probing time (median against median);
// read commands well under a second. Each scan's counts by state are compared with the fleet's ground truth, so a fast but wrong
// scan cannot pass. Timing lives here, never in tests.
import { statSync } from "node:fs";
import { join } from "node:path";
import type { ProbeState, ScanRecord } from "../shared/exposure/model.ts";
import { DEFAULT_STORE_DIR, localStorePath } from "../shared/store/local-store.ts";
import { Fleet, type FleetOptions, truthCounts } from "./fleet.ts";

/** The steady scan cycle may take at most this many times the probing alone. */
export const STEADY_SCAN_FACTOR = 1.5;
/** "Well under a second" for a read command, as the check reads it. */
export const READ_COMMAND_MS = 1_000;

export interface Timed {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  peakRssMb: number;
  cpuMs: number;
}

/** How the bench runs a child process and the engine (bench/run.ts passes its own, so there is no import cycle). */
export interface StoreBenchTools {
  run(command: string, args: string[], timeoutMs: number): Promise<Timed>;
  runEngine(fleet: Fleet, sockets: number, extra: string[]): Promise<{ wallMs: number; cpuMs: number }>;
  /** The `exposure` command as installed: the built bundle, dist/exposure.js (bench/run.ts builds it). */
  cli: string;
}

export interface StoreStep {
  name: string;
  command: string;
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
  /** For a scan: its counts by state and how many alerts it raised. */
  countsByState?: Partial<Record<ProbeState, number>>;
  alerts?: number;
}

export interface StoreReport {
  scenario: "store";
  fleet: FleetOptions & { counts: Partial<Record<ProbeState, number>> };
  sockets: number;
  /** Medians of the probing-alone runs. */
  probeMs: number;
  probeCpuMs: number;
  probeRuns: { wallMs: number; cpuMs: number }[];
  steps: StoreStep[];
  storeBytes: number;
  checks: Array<{ name: string; pass: boolean; detail: string }>;
}

const pick = ({ wallMs, cpuMs, peakRssMb }: Timed) => ({ wallMs, cpuMs, peakRssMb });
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function sameCounts(a: Partial<Record<string, number>>, b: Partial<Record<string, number>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => (a[key] ?? 0) === (b[key] ?? 0));
}

export async function runStoreScenario(
  tools: StoreBenchTools,
  overrides: Partial<FleetOptions>,
  sockets: number,
): Promise<StoreReport> {
  const fleet = await Fleet.create(overrides);
  try {
    const storeDir = join(fleet.workDir, DEFAULT_STORE_DIR);
    const truth = truthCounts(fleet.endpoints);
    process.stderr.write(`[store] fleet ${fleet.run} ready; probing alone, then scan x4 and the read commands\n`);
    // Probing alone three times, the second and third each just before a steady scan, so that both medians
    // see the same stretches of whatever else the machine is doing.
    const probeRuns: { wallMs: number; cpuMs: number }[] = [];
    const probeAlone = async () => {
      const { wallMs, cpuMs } = await tools.runEngine(fleet, sockets, ["--engine", "adaptive"]);
      probeRuns.push({ wallMs, cpuMs });
    };
    await probeAlone();

    const steps: StoreStep[] = [];
    // EXPOSURE_BENCH_CPU_PROF=DIR writes a V8 CPU profile of every CLI step there too (docs/readme-bench.md).
    const profile = process.env.EXPOSURE_BENCH_CPU_PROF;
    const cli = async (name: string, args: string[], inScanner: boolean): Promise<Timed> => {
      const command = `exposure ${args.join(" ")}`;
      const node = [
        ...(profile
          ? ["--cpu-prof", `--cpu-prof-dir=${profile}`, `--cpu-prof-name=${name.replace(/\W+/g, "-")}.cpuprofile`]
          : []),
        tools.cli,
        ...args,
      ];
      const result = inScanner
        ? await tools.run("ip", fleet.execArgs(fleet.scannerNs, process.execPath, node), 600_000)
        : await tools.run(process.execPath, node, 120_000);
      if (result.code !== 0) {
        throw new Error(`${command} failed (exit ${result.code}): ${result.stderr.trim().slice(-300)}`);
      }
      const step: StoreStep = {
        name,
        command,
        wallMs: result.wallMs,
        cpuMs: result.cpuMs,
        peakRssMb: result.peakRssMb,
      };
      steps.push(step);
      return result;
    };
    const scanArgs = [
      "scan",
      "--targets",
      fleet.targetsFile,
      "--store-dir",
      storeDir,
      "--concurrency",
      String(sockets),
      "--json",
    ];
    // The same probing through the CLI, without a store: separates the command's own start-up from the store.
    await cli(
      "probe (no store)",
      ["probe", "--targets", fleet.targetsFile, "--concurrency", String(sockets), "--json"],
      true,
    );
    for (const name of ["first scan", "steady scan 1", "steady scan 2", "steady scan 3"]) {
      if (name === "steady scan 2" || name === "steady scan 3") await probeAlone();
      process.stderr.write(`[store] ${name}\n`);
      const result = await cli(name, scanArgs, true);
      const report = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as {
        scan: ScanRecord;
        alerts: unknown[];
      };
      const step = steps.at(-1)!;
      step.countsByState = report.scan.countsByState;
      step.alerts = report.alerts.length;
    }
    // Read commands three times each (the median counts), and an empty Node process for scale: on a
    // loaded machine even that takes a good part of a second.
    const openIp = fleet.endpoints.find((endpoint) => endpoint.truth === "open-unauthenticated")?.ip ?? "";
    for (let i = 0; i < 3; i++) {
      await cli("exposed", ["exposed", "--store-dir", storeDir], false);
      await cli("history", ["history", openIp, "--store-dir", storeDir], false);
      const empty = await tools.run(process.execPath, ["-e", ""], 60_000);
      steps.push({ name: "node -e ''", command: "node -e '' (start-up alone)", ...pick(empty) });
    }

    const storeBytes = statSync(localStorePath(storeDir)).size;
    const scans = steps.filter((step) => step.countsByState);
    const steady = scans.slice(1);
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    // The median of three: on a machine shared with other work one cycle can be held up by a neighbour.
    const medianSteady = median(steady.map((step) => step.wallMs));
    const medianSteadyCpu = median(steady.map((step) => step.cpuMs));
    const probe = {
      wallMs: median(probeRuns.map((run) => run.wallMs)),
      cpuMs: median(probeRuns.map((run) => run.cpuMs)),
    };
    const medianOf = (name: string) => median(steps.filter((step) => step.name === name).map((step) => step.wallMs));
    const reads = ["exposed", "history"].map((name) => ({ name, wallMs: medianOf(name) }));
    const checks: StoreReport["checks"] = [
      {
        name: "every scan's counts match the fleet",
        pass: scans.every((step) => sameCounts(step.countsByState ?? {}, truth)),
        detail: scans.map((step) => `${step.name}: ${JSON.stringify(step.countsByState)}`).join("; "),
      },
      {
        name: "a steady scan raises no alert",
        pass: steady.every((step) => step.alerts === 0),
        detail: steady.map((step) => `${step.name}: ${step.alerts} alerts`).join(", "),
      },
      {
        name: `steady scan cycle <= ${STEADY_SCAN_FACTOR}x probing`,
        pass: medianSteady <= STEADY_SCAN_FACTOR * probe.wallMs,
        detail: `${secs(medianSteady)} (median of ${steady.length}) vs probing ${secs(probe.wallMs)} (median of ${probeRuns.length}): ${(medianSteady / probe.wallMs).toFixed(2)}x; CPU ${secs(medianSteadyCpu)} vs ${secs(probe.cpuMs)}: ${(medianSteadyCpu / probe.cpuMs).toFixed(2)}x`,
      },
      {
        name: `read commands < ${READ_COMMAND_MS} ms`,
        pass: reads.every((step) => step.wallMs < READ_COMMAND_MS),
        detail: `medians of 3: ${reads.map((step) => `${step.name} ${Math.round(step.wallMs)} ms`).join(", ")} (an empty node process: ${Math.round(medianOf("node -e ''"))} ms)`,
      },
    ];
    return {
      scenario: "store",
      fleet: { ...fleet.options, counts: truth },
      sockets,
      probeMs: probe.wallMs,
      probeCpuMs: probe.cpuMs,
      probeRuns,
      steps,
      storeBytes,
      checks,
    };
  } finally {
    await fleet.teardown();
  }
}

export function printStoreReport(report: StoreReport): void {
  const counts = Object.entries(report.fleet.counts)
    .map(([state, n]) => `${(n ?? 0).toLocaleString("en-US")} ${state}`)
    .join(", ");
  const lines = [
    "",
    `== scenario store: ${report.fleet.size.toLocaleString("en-US")} endpoints (${counts}), ${report.sockets} sockets, seed ${report.fleet.seed}`,
    "   the embedded SQLite store, each command a fresh process of the installed bundle (dist/exposure.js)",
    "",
    `${"step".padEnd(16)}${"wall".padStart(10)}${"CPU".padStart(10)}${"peak RSS".padStart(11)}${"x probing".padStart(11)}  command`,
    `${"probing alone".padEnd(16)}${secs(report.probeMs).padStart(10)}${secs(report.probeCpuMs).padStart(10)}${"".padStart(11)}${"1.00x".padStart(11)}  the engine runner, bundled (no store), median of ${report.probeRuns.map((run) => secs(run.wallMs)).join(" / ")}`,
  ];
  for (const step of report.steps) {
    const ratio = step.countsByState ? `${(step.wallMs / report.probeMs).toFixed(2)}x` : "";
    lines.push(
      `${step.name.padEnd(16)}${secs(step.wallMs).padStart(10)}${secs(step.cpuMs).padStart(10)}${`${step.peakRssMb.toFixed(0)} MB`.padStart(11)}${ratio.padStart(11)}  ${step.command.replace(/--targets \S+/, "--targets FLEET").replace(/--store-dir \S+/, "--store-dir DIR")}${step.alerts !== undefined ? ` (${step.alerts} alerts)` : ""}`,
    );
  }
  lines.push(`store file after the scans: ${(report.storeBytes / 1024 / 1024).toFixed(1)} MB`);
  for (const check of report.checks) lines.push(`${check.pass ? "PASS" : "FAIL"}  ${check.name}: ${check.detail}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}
