// `exposure probe [options] TARGET...`: probe targets once and print what each one says.
import { readFile } from "node:fs/promises";
import { EXPOSURES, type Exposure, exposureRank, type ProbeResult } from "../../shared/exposure/model.ts";
import { AddressSet } from "../../shared/net/ip.ts";
import { DEFAULT_CONCURRENCY, probeAll } from "../../shared/probe/batch.ts";
import { DEFAULT_PROBE_OPTIONS } from "../../shared/probe/probe.ts";
import { DEFAULT_PORT, parseTargets, TargetError, targetSpecsFromText } from "../../shared/probe/targets.ts";
import { EXIT_OK, intOption, parseCommandArgs, UsageError } from "../args.ts";
import { formatTable, ProgressLine } from "../output.ts";

export const EXIT_EXPOSED = 3;

const HELP = `usage: exposure probe [options] TARGET...

Probes each target once, read-only (PING, INFO, INFO commandstats, QUIT), and prints its state.
TARGET is host[:port], [ipv6]:port, or a CIDR block (IPv4 /16 at most, IPv6 /112 at most).

options:
  --targets FILE          read targets from FILE, one per line, "#" starts a comment
  --json                  one JSON object per line per target
  --port N                default port for targets without one (default ${DEFAULT_PORT})
  --timeout-ms N          TCP/TLS connect timeout (default ${DEFAULT_PROBE_OPTIONS.connectTimeoutMs})
  --deadline-ms N         hard limit for one target, TLS retry included (default ${DEFAULT_PROBE_OPTIONS.deadlineMs})
  --concurrency N         sockets open at once at most (default ${DEFAULT_CONCURRENCY})
  --no-tls                do not retry with TLS when plaintext gets no byte back
  --allow-master CIDR     a replica's master here is expected (repeatable; private ranges always are)
  --fail-on LEVEL         exit ${EXIT_EXPOSED} when any target is at LEVEL or worse: reachable | unauthenticated
  -h, --help              show this help`;

export async function loadTargets(positionals: string[], targetsFile: string | undefined, defaultPort: number) {
  const specs = [...positionals];
  if (targetsFile !== undefined) {
    let text: string;
    try {
      text = await readFile(targetsFile, "utf8");
    } catch (error) {
      throw new UsageError(
        `cannot read targets file "${targetsFile}": ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
    specs.push(...targetSpecsFromText(text));
  }
  if (specs.length === 0) throw new UsageError("no targets given (name some, or use --targets FILE; see --help)");
  try {
    return parseTargets(specs, defaultPort);
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(error.message);
    throw error;
  }
}

function describeServer(result: ProbeResult): string {
  const server = result.server;
  if (!server) return "";
  const parts = [server.product, server.version ?? "?"];
  if (server.mode && server.mode !== "standalone") parts.push(server.mode);
  if (server.role === "replica") parts.push(`replica of ${server.masterHost ?? "?"}`);
  return parts.join(" ");
}

function describeFindings(result: ProbeResult): string {
  if (result.findings.length === 0) return "";
  const compromise = result.findings.filter((finding) => finding.kind === "compromise").map((finding) => finding.id);
  const cves = result.findings.filter((finding) => finding.kind === "cve").length;
  return [...compromise, ...(cves > 0 ? [`${cves} CVE${cves > 1 ? "s" : ""}`] : [])].join(", ");
}

export function resultRow(result: ProbeResult): string[] {
  return [
    result.target,
    result.state,
    result.exposure,
    result.tls ? "tls" : "",
    describeServer(result),
    describeFindings(result),
    `${result.durationMs}`,
  ];
}

export const RESULT_COLUMNS = ["TARGET", "STATE", "EXPOSURE", "TLS", "SERVER", "FINDINGS", "MS"];

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    targets: { type: "string" },
    json: { type: "boolean" },
    port: { type: "string" },
    "timeout-ms": { type: "string" },
    "deadline-ms": { type: "string" },
    concurrency: { type: "string" },
    "no-tls": { type: "boolean" },
    "allow-master": { type: "string", multiple: true },
    "fail-on": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const failOn = values["fail-on"];
  if (failOn !== undefined && (failOn === "none" || !EXPOSURES.includes(failOn as Exposure))) {
    throw new UsageError(`--fail-on must be "reachable" or "unauthenticated", got "${failOn}"`);
  }
  const port = intOption("port", values.port, DEFAULT_PORT, 1, 65535);
  const connectTimeoutMs = intOption(
    "timeout-ms",
    values["timeout-ms"],
    DEFAULT_PROBE_OPTIONS.connectTimeoutMs,
    10,
    120_000,
  );
  const deadlineMs = intOption(
    "deadline-ms",
    values["deadline-ms"],
    Math.max(DEFAULT_PROBE_OPTIONS.deadlineMs, connectTimeoutMs * 2 + 1_000),
    10,
    600_000,
  );
  const concurrency = intOption("concurrency", values.concurrency, DEFAULT_CONCURRENCY, 1, 10_000);
  let allowedMasters: AddressSet;
  try {
    allowedMasters = new AddressSet(values["allow-master"] ?? []);
  } catch (error) {
    throw new UsageError(`--allow-master: ${(error as Error).message}`);
  }
  const targets = await loadTargets(positionals, values.targets, port);

  const options = {
    concurrency,
    connectTimeoutMs,
    replyTimeoutMs: Math.min(DEFAULT_PROBE_OPTIONS.replyTimeoutMs, deadlineMs),
    deadlineMs,
    tlsFallback: !values["no-tls"],
    allowedMasters,
  };
  const progress =
    !values.json && process.stderr.isTTY && targets.length > 20 ? new ProgressLine(targets.length) : null;
  const rows: string[][] = [];
  let worst = 0;
  for await (const result of probeAll(targets, options)) {
    worst = Math.max(worst, exposureRank(result.exposure));
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else rows.push(resultRow(result));
    progress?.tick(result.exposure !== "none");
  }
  progress?.done();
  if (!values.json) {
    const order = new Map(targets.map((target, index) => [`${target.host}|${target.port}`, index]));
    rows.sort((a, b) => (order.get(keyOfRow(a)) ?? 0) - (order.get(keyOfRow(b)) ?? 0));
    process.stdout.write(`${formatTable(RESULT_COLUMNS, rows)}\n`);
  }
  if (failOn !== undefined && worst >= exposureRank(failOn as Exposure)) return EXIT_EXPOSED;
  return EXIT_OK;
}

function keyOfRow(row: string[]): string {
  const target = row[0] ?? "";
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(target);
  return match ? `${match[1]}|${match[2]}` : target;
}
