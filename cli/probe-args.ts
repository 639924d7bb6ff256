// The probe's options, shared by `probe`, `scan` and `watch`: parsed and checked once, before anything runs.
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { AddressSet } from "../shared/net/ip.ts";
import { printable } from "../shared/printable.ts";
import { type AdaptiveOptions, DEFAULT_ADAPTIVE_OPTIONS } from "../shared/probe/adaptive.ts";
import { DEFAULT_PROBE_OPTIONS, type ProbeOptions } from "../shared/probe/probe.ts";
import { DEFAULT_PORT, MAX_TARGETS, parseTargets, TargetError, targetSpecsFromText } from "../shared/probe/targets.ts";
import { intOption, UsageError } from "./args.ts";

/** A connected peer's reply time plus a little: the deadline a longer --timeout-ms gets at least. */
const DEADLINE_MARGIN_MS = DEFAULT_PROBE_OPTIONS.replyTimeoutMs + 500;

export const PROBE_OPTIONS = {
  targets: { type: "string" },
  port: { type: "string" },
  "timeout-ms": { type: "string" },
  "deadline-ms": { type: "string" },
  concurrency: { type: "string" },
  "no-tls": { type: "boolean" },
  "allow-master": { type: "string", multiple: true },
} as const;

interface OptionRow {
  /** The value's name in the help ("N", "FILE"); none for a flag. */
  value?: string;
  /** A whole-number option's default and bounds: the help prints this default, parsing uses it. */
  int?: { default: number; min: number; max: number };
  meaning: string;
}

/**
 * Every probe option's meaning and default, in one table: the help is generated from it and the
 * parsing below reads the defaults and bounds from it, so the two cannot drift.
 */
export const PROBE_OPTION_TABLE: { readonly [K in keyof typeof PROBE_OPTIONS]: OptionRow } = {
  targets: {
    value: "FILE",
    meaning: 'read targets from FILE (a regular file of 16 MiB at most), one per line, "#" starts a comment',
  },
  port: {
    value: "N",
    int: { default: DEFAULT_PORT, min: 1, max: 65535 },
    meaning: "default port for targets without one",
  },
  "timeout-ms": {
    value: "N",
    int: { default: DEFAULT_ADAPTIVE_OPTIONS.ceilingMs, min: 10, max: 120_000 },
    meaning: "longest wait for a TCP/TLS connect (silent endpoints are given up sooner once round trips are measured)",
  },
  "deadline-ms": {
    value: "N",
    int: { default: DEFAULT_PROBE_OPTIONS.deadlineMs, min: 10, max: 600_000 },
    meaning: `hard limit for one attempt at a target, TLS retry included; when not given, at least --timeout-ms + ${DEADLINE_MARGIN_MS}`,
  },
  concurrency: {
    value: "N",
    int: { default: DEFAULT_ADAPTIVE_OPTIONS.concurrency, min: 1, max: 10_000 },
    meaning: "sockets open at once at most",
  },
  "no-tls": { meaning: "do not retry with TLS when plaintext gets no byte back" },
  "allow-master": {
    value: "CIDR",
    meaning: "a replica's master here is expected (repeatable; private ranges always are)",
  },
};

export const PROBE_HELP = Object.entries(PROBE_OPTION_TABLE)
  .map(([name, row]) => {
    const usage = `--${name}${row.value ? ` ${row.value}` : ""}`;
    return `  ${usage.padEnd(22)}  ${row.meaning}${row.int ? ` (default ${row.int.default})` : ""}`;
  })
  .join("\n");

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

function intArg(name: keyof typeof PROBE_OPTION_TABLE, value: string | undefined, fallback?: number): number {
  const spec = PROBE_OPTION_TABLE[name].int;
  if (!spec) throw new Error(`--${name} is not a whole-number option`);
  return intOption(name, value, fallback ?? spec.default, spec.min, spec.max);
}

export function probeSettings(values: ProbeArgValues): { port: number; probe: ProbeSettings } {
  const port = intArg("port", values.port);
  const connectTimeoutMs = intArg("timeout-ms", values["timeout-ms"]);
  const deadlineMs = intArg(
    "deadline-ms",
    values["deadline-ms"],
    Math.max(DEFAULT_PROBE_OPTIONS.deadlineMs, connectTimeoutMs + DEADLINE_MARGIN_MS),
  );
  const concurrency = intArg("concurrency", values.concurrency);
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
      // A TLS handshake always gets the long timeout (docs/readme-probe.md, "TLS").
      handshakeTimeoutMs: Math.max(DEFAULT_PROBE_OPTIONS.handshakeTimeoutMs, connectTimeoutMs),
      deadlineMs,
      replyTimeoutMs: Math.min(DEFAULT_PROBE_OPTIONS.replyTimeoutMs, deadlineMs),
      tlsFallback: !values["no-tls"],
      allowedMasters,
    },
  };
}

/**
 * The probe options as the engine's (the adaptive scheduler, shared/probe/adaptive.ts): --timeout-ms
 * is the longest connect timeout (silent endpoints are given up sooner once round trips are
 * measured), --concurrency the sockets at once, the rest goes to every single probe.
 */
export function adaptiveSettings(probe: Partial<ProbeSettings>): Partial<AdaptiveOptions> {
  const { concurrency, connectTimeoutMs, ...probeOptions } = probe;
  const ceilingMs = connectTimeoutMs ?? DEFAULT_ADAPTIVE_OPTIONS.ceilingMs;
  return {
    ...(concurrency !== undefined ? { concurrency } : {}),
    ceilingMs,
    floorMs: Math.min(DEFAULT_ADAPTIVE_OPTIONS.floorMs, ceilingMs),
    initialTimeoutMs: Math.min(DEFAULT_ADAPTIVE_OPTIONS.initialTimeoutMs, ceilingMs),
    probeOptions,
  };
}

/** A targets file larger than this is refused: MAX_TARGETS lines with long comments fit well within it. */
export const MAX_TARGETS_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads a targets file: a regular file only (a FIFO or a device would block or never end, a directory is
 * a mistake), of MAX_TARGETS_FILE_BYTES at most. Opened non-blocking, so opening a FIFO does not wait for
 * a writer, and checked on the open descriptor, so what is read is what was checked.
 */
async function readTargetsFile(path: string): Promise<string> {
  const name = printable(path, 200);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new UsageError(`cannot read targets file "${name}": ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new UsageError(`targets file "${name}" is a directory`);
    if (!stat.isFile()) throw new UsageError(`targets file "${name}" is not a regular file (a FIFO, socket or device)`);
    if (stat.size > MAX_TARGETS_FILE_BYTES) {
      throw new UsageError(
        `targets file "${name}" is ${stat.size} bytes, more than the ${MAX_TARGETS_FILE_BYTES} allowed (${MAX_TARGETS} targets at most per run)`,
      );
    }
    const bytes = Buffer.alloc(stat.size);
    const { bytesRead } = await handle.read(bytes, 0, stat.size, 0);
    return bytes.toString("utf8", 0, bytesRead);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read targets file "${name}": ${(error as NodeJS.ErrnoException).code ?? error}`);
  } finally {
    await handle.close();
  }
}

/** The targets named on the command line and in --targets FILE, all checked before any is probed. */
export async function loadTargets(positionals: string[], targetsFile: string | undefined, defaultPort: number) {
  const specs = [...positionals];
  if (targetsFile !== undefined) specs.push(...targetSpecsFromText(await readTargetsFile(targetsFile)));
  if (specs.length === 0) throw new UsageError("no targets given (name some, or use --targets FILE; see --help)");
  try {
    return parseTargets(specs, defaultPort);
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(error.message);
    throw error;
  }
}
