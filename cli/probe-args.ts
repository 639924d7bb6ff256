// The probe's options, shared by `probe`, `scan` and `watch`: parsed and checked once, before anything runs.
import { readFile } from "node:fs/promises";
import { AddressSet } from "../shared/net/ip.ts";
import { DEFAULT_CONCURRENCY } from "../shared/probe/batch.ts";
import { DEFAULT_PROBE_OPTIONS, type ProbeOptions } from "../shared/probe/probe.ts";
import { DEFAULT_PORT, parseTargets, TargetError, targetSpecsFromText } from "../shared/probe/targets.ts";
import { intOption, UsageError } from "./args.ts";

export const PROBE_OPTIONS = {
  targets: { type: "string" },
  port: { type: "string" },
  "timeout-ms": { type: "string" },
  "deadline-ms": { type: "string" },
  concurrency: { type: "string" },
  "no-tls": { type: "boolean" },
  "allow-master": { type: "string", multiple: true },
} as const;

export const PROBE_HELP = `  --targets FILE          read targets from FILE, one per line, "#" starts a comment
  --port N                default port for targets without one (default ${DEFAULT_PORT})
  --timeout-ms N          TCP/TLS connect timeout (default ${DEFAULT_PROBE_OPTIONS.connectTimeoutMs})
  --deadline-ms N         hard limit for one target, TLS retry included (default ${DEFAULT_PROBE_OPTIONS.deadlineMs})
  --concurrency N         sockets open at once at most (default ${DEFAULT_CONCURRENCY})
  --no-tls                do not retry with TLS when plaintext gets no byte back
  --allow-master CIDR     a replica's master here is expected (repeatable; private ranges always are)`;

export interface ProbeArgValues {
  targets?: string;
  port?: string;
  "timeout-ms"?: string;
  "deadline-ms"?: string;
  concurrency?: string;
  "no-tls"?: boolean;
  "allow-master"?: string[];
}

export type ProbeSettings = ProbeOptions & { concurrency: number; allowedMasters: AddressSet };

export function probeSettings(values: ProbeArgValues): { port: number; probe: ProbeSettings } {
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
  return {
    port,
    probe: {
      ...DEFAULT_PROBE_OPTIONS,
      concurrency,
      connectTimeoutMs,
      deadlineMs,
      replyTimeoutMs: Math.min(DEFAULT_PROBE_OPTIONS.replyTimeoutMs, deadlineMs),
      tlsFallback: !values["no-tls"],
      allowedMasters,
    },
  };
}

/** The targets named on the command line and in --targets FILE, all checked before any is probed. */
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
