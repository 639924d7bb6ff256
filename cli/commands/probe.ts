// `exposure probe [options] TARGET...`: probe targets once and print what each one says.
import {
  EXPOSURES,
  type Exposure,
  exposureRank,
  isProbeError,
  type ProbeOutcome,
  type ProbeResult,
} from "../../shared/exposure/model.ts";
import { printable } from "../../shared/printable.ts";
import { probeAdaptive } from "../../shared/probe/scheduler.ts";
import { protocolText } from "../../shared/protocols/registry.ts";
import { EXIT_OK, parseCommandArgs, UsageError } from "../args.ts";
import { formatTable, LineWriter, ProgressLine } from "../output.ts";
import { adaptiveSettings, loadTargets, PROBE_HELP, PROBE_OPTIONS, probeSettings } from "../probe-args.ts";

export const EXIT_EXPOSED = 3;
/** With --fail-on: nothing reached LEVEL, but some targets could not be probed (probe errors). */
export const EXIT_NOT_ALL_PROBED = 4;

const HELP = `usage: exposure probe [options] TARGET...

Probes each target, read-only (PING, INFO, INFO commandstats, QUIT), with the engine scan and watch use
(a silent endpoint is tried again before it is called filtered), and prints its state.
TARGET is host[:port], [ipv6]:port, or a CIDR block (IPv4 /16 at most, IPv6 /112 at most).

options:
  --json                  one JSON object per line per target
  --open                  list only targets that answered (exposure reachable or unauthenticated)
  -q, --quiet             no summary line (stderr) and no progress; with --open and nothing open, no output
  -v, --verbose           also print each target's reply (the first bytes the server sent)
${PROBE_HELP}
  --fail-on LEVEL         exit ${EXIT_EXPOSED} when any target is at LEVEL or worse: reachable | unauthenticated;
                          otherwise exit ${EXIT_NOT_ALL_PROBED} when a target could not be probed (a probe error)
  -h, --help              show this help

A probe error (state "probe-error") is a failure of this machine, not an answer of the target: no route
for the address family, no descriptors, no buffers, a name that does not resolve. It says nothing about
the target; a line on stderr counts them.`;

function describeFindings(result: ProbeResult): string {
  if (result.findings.length === 0) return "";
  const compromise = result.findings.filter((finding) => finding.kind === "compromise").map((finding) => finding.id);
  const cves = result.findings.filter((finding) => finding.kind === "cve").length;
  return [...compromise, ...(cves > 0 ? [`${cves} CVE${cves > 1 ? "s" : ""}`] : [])].join(", ");
}

export function resultRow(outcome: ProbeOutcome): string[] {
  if (isProbeError(outcome)) {
    return [outcome.target, outcome.state, "-", "", outcome.probeError.reason, "", `${outcome.durationMs}`];
  }
  const result = outcome;
  return [
    result.target,
    result.state,
    result.exposure,
    result.tls ? "tls" : "",
    protocolText(result.protocol.name).describeServer(result.protocol) ?? "",
    describeFindings(result),
    `${result.durationMs}`,
  ];
}

/** "256 targets: 1 unauthenticated, 2 reachable, 250 closed, 3 filtered" (exposed first). */
export function summaryLine(total: number, counts: ReadonlyMap<string, number>): string {
  const order = ["unauthenticated", "reachable", "closed", "filtered", "probe error"];
  const rank = (label: string) => (order.includes(label) ? order.indexOf(label) : order.length);
  const parts = [...counts]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([label, n]) => `${n} ${label}`);
  return `${total} target${total === 1 ? "" : "s"}: ${parts.join(", ") || "none probed"}`;
}

function replyOf(outcome: ProbeOutcome): string {
  return isProbeError(outcome) ? "" : printable(outcome.reply ?? "", 60);
}

export const RESULT_COLUMNS = ["TARGET", "STATE", "EXPOSURE", "TLS", "SERVER", "FINDINGS", "MS"];

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...PROBE_OPTIONS,
    json: { type: "boolean" },
    open: { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
    verbose: { type: "boolean", short: "v" },
    "fail-on": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.quiet && values.verbose) throw new UsageError("--quiet and --verbose cannot be used together");
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const failOn = values["fail-on"];
  if (failOn !== undefined && (failOn === "none" || !EXPOSURES.includes(failOn as Exposure))) {
    throw new UsageError(`--fail-on must be "reachable" or "unauthenticated", got "${failOn}"`);
  }
  const { port, probe: options } = probeSettings(values);
  const targets = await loadTargets(positionals, values.targets, port, values);
  const shown = (outcome: ProbeOutcome) =>
    !values.open || (!isProbeError(outcome) && outcome.exposure !== "none" && outcome.exposure !== null);
  const counts = new Map<string, number>();

  const progress =
    !values.json && !values.quiet && process.stderr.isTTY && targets.length > 20
      ? new ProgressLine(targets.length)
      : null;
  const rows: string[][] = [];
  const json = values.json ? new LineWriter() : null;
  let worst = 0;
  const probeErrors = new Map<string, number>();
  for await (const result of probeAdaptive(targets, adaptiveSettings(options))) {
    if (isProbeError(result)) {
      probeErrors.set(result.probeError.code, (probeErrors.get(result.probeError.code) ?? 0) + 1);
    } else {
      worst = Math.max(worst, exposureRank(result.exposure));
    }
    const label = isProbeError(result) ? "probe error" : result.exposure === "none" ? result.state : result.exposure;
    counts.set(label, (counts.get(label) ?? 0) + 1);
    if (!shown(result)) {
      // not listed (--open)
    } else if (json) json.line(JSON.stringify(result));
    else rows.push(values.verbose ? [...resultRow(result), replyOf(result)] : resultRow(result));
    progress?.tick(result.exposure !== "none" && result.exposure !== null);
  }
  json?.flush();
  progress?.done();
  if (!values.json) {
    const order = new Map(targets.map((target, index) => [`${target.host}|${target.port}`, index]));
    rows.sort((a, b) => (order.get(keyOfRow(a)) ?? 0) - (order.get(keyOfRow(b)) ?? 0));
    if (rows.length > 0) {
      process.stdout.write(`${formatTable(values.verbose ? [...RESULT_COLUMNS, "REPLY"] : RESULT_COLUMNS, rows)}\n`);
    } else if (!values.quiet) process.stdout.write("no open targets\n");
  }
  // The summary goes to stderr, so stdout stays the table; --json output is for machines and has none.
  if (!values.quiet && !values.json) process.stderr.write(`${summaryLine(targets.length, counts)}\n`);
  const notProbed = [...probeErrors.values()].reduce((sum, n) => sum + n, 0);
  if (notProbed > 0) {
    const codes = [...probeErrors].map(([code, n]) => `${code} x${n}`).join(", ");
    process.stderr.write(
      `exposure: ${notProbed} of ${targets.length} targets not probed: probe errors of this machine (${codes}), nothing known about them\n`,
    );
  }
  if (failOn !== undefined && worst >= exposureRank(failOn as Exposure)) return EXIT_EXPOSED;
  if (failOn !== undefined && notProbed > 0) return EXIT_NOT_ALL_PROBED;
  return EXIT_OK;
}

function keyOfRow(row: string[]): string {
  const target = row[0] ?? "";
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(target);
  return match ? `${match[1]}|${match[2]}` : target;
}
