// The probe's options, shared by `probe`, `scan` and `watch`: parsed and checked once, before anything runs.
import { constants, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { isIP } from "node:net";
import { AddressSet } from "../shared/net/ip.ts";
import { printable } from "../shared/printable.ts";
import { type AdaptiveOptions, DEFAULT_ADAPTIVE_OPTIONS, DEFAULT_SOCKETS } from "../shared/probe/adaptive.ts";
import { DEFAULT_PROBE_OPTIONS, type ProbeOptions } from "../shared/probe/probe.ts";
import { DEFAULT_PORT, MAX_TARGETS, parseTargets, TargetError, targetSpecsFromText } from "../shared/probe/targets.ts";
import { intOption, UsageError } from "./args.ts";

/** A connected peer's reply time plus a little: the deadline a longer --timeout-ms gets at least. */
const DEADLINE_MARGIN_MS = DEFAULT_PROBE_OPTIONS.replyTimeoutMs + 500;

/** Sockets at once by default on a machine of the command's own (docs/readme-probe.md, "The engine"). */
export const CLI_SOCKETS = 1_000;
/** Descriptors kept for the process itself beside the sockets: as many as the probe function keeps. */
export const RESERVED_DESCRIPTORS = 1_024 - DEFAULT_SOCKETS;

/**
 * The open-files limit of this process (Node raises its soft limit to the hard one at start), from
 * Linux's /proc/self/limits; undefined where that cannot be read.
 */
export function openFilesLimit(limits?: string): number | undefined {
  let text = limits;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return undefined;
    }
  }
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (!match) return undefined;
  return match[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(match[1]);
}

/**
 * The default --concurrency: CLI_SOCKETS where the limit on open files leaves RESERVED_DESCRIPTORS
 * beside them, else what it leaves (at least 1); the probe function's DEFAULT_SOCKETS where the
 * limit is unknown.
 */
export function defaultConcurrency(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_SOCKETS;
  return Math.max(1, Math.min(CLI_SOCKETS, limit - RESERVED_DESCRIPTORS));
}

export const PROBE_OPTIONS = {
  targets: { type: "string" },
  exclude: { type: "string", multiple: true },
  "exclude-file": { type: "string" },
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
    meaning:
      'read targets from FILE ("-" for standard input; 16 MiB at most), one per line, "#" starts a comment; JSON lines of `inventory --json` or `probe --json` are taken as their host and port',
  },
  exclude: {
    value: "SPEC",
    meaning: "never probe this IP, CIDR block or ip:port, even when a target includes it (repeatable)",
  },
  "exclude-file": {
    value: "FILE",
    meaning: 'exclusions from FILE, one per line like --exclude, "#" starts a comment',
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
    int: { default: defaultConcurrency(openFilesLimit()), min: 1, max: 10_000 },
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
  exclude?: string[];
  "exclude-file"?: string;
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
      // A TLS handshake always gets the long timeout (docs/readme-probe.md, "Transport").
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

/** Standard input (`--targets -`), up to the same cap as a targets file. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_TARGETS_FILE_BYTES) {
      throw new UsageError(`standard input has more than the ${MAX_TARGETS_FILE_BYTES} bytes a targets list may have`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Target specifications from a targets list: plain lines as targetSpecsFromText reads them, and JSON
 * lines (`exposure inventory --json`: {host, port, ...}; `exposure probe --json`: {ip, port, ...}) as
 * their host and port.
 */
export function specsFromTargetsText(text: string): string[] {
  const specs: string[] = [];
  const plain: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) {
      plain.push(line);
      return;
    }
    let value: { host?: unknown; ip?: unknown; port?: unknown };
    try {
      value = JSON.parse(trimmed) as typeof value;
    } catch {
      throw new UsageError(`targets line ${index + 1}: not valid JSON`);
    }
    const host = typeof value.host === "string" ? value.host : typeof value.ip === "string" ? value.ip : null;
    if (host === null || !Number.isInteger(value.port)) {
      throw new UsageError(`targets line ${index + 1}: a JSON target needs "host" (or "ip") and "port"`);
    }
    specs.push(host.includes(":") ? `[${host}]:${value.port}` : `${host}:${value.port}`);
  });
  return [...targetSpecsFromText(plain.join("\n")), ...specs];
}

async function readList(path: string): Promise<string> {
  return path === "-" ? readStdin() : readTargetsFile(path);
}

/** Exclusions: IPs and CIDR blocks (every port), and ip:port endpoints. */
export class Exclusions {
  readonly #addresses: AddressSet;
  readonly #endpoints: Set<string>;

  constructor(specs: readonly string[]) {
    const blocks: string[] = [];
    this.#endpoints = new Set();
    for (const spec of specs) {
      const endpoint = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(spec) ?? /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(spec);
      if (endpoint) this.#endpoints.add(`${endpoint[1]!.toLowerCase()}|${Number(endpoint[2])}`);
      else blocks.push(spec);
    }
    try {
      this.#addresses = new AddressSet(blocks);
    } catch (error) {
      throw new UsageError(`--exclude: ${(error as Error).message}`);
    }
  }

  excludes(target: { host: string; port: number }): boolean {
    if (this.#endpoints.has(`${target.host.toLowerCase()}|${target.port}`)) return true;
    return isIP(target.host) !== 0 && this.#addresses.has(target.host);
  }
}

/** --exclude and --exclude-file, or null when neither is given. */
export async function loadExclusions(
  values: Pick<ProbeArgValues, "exclude" | "exclude-file">,
): Promise<Exclusions | null> {
  const specs = [...(values.exclude ?? [])];
  if (values["exclude-file"] !== undefined) {
    specs.push(...targetSpecsFromText(await readTargetsFile(values["exclude-file"])));
  }
  return specs.length === 0 && values["exclude-file"] === undefined ? null : new Exclusions(specs);
}

/**
 * The targets named on the command line and in --targets FILE (or standard input), less the exclusions,
 * all checked before any is probed.
 */
export async function loadTargets(
  positionals: string[],
  targetsFile: string | undefined,
  defaultPort: number,
  exclusions: Pick<ProbeArgValues, "exclude" | "exclude-file"> = {},
) {
  const specs = [...positionals];
  if (targetsFile !== undefined) specs.push(...specsFromTargetsText(await readList(targetsFile)));
  if (specs.length === 0) throw new UsageError("no targets given (name some, or use --targets FILE; see --help)");
  const excluded = await loadExclusions(exclusions);
  let targets: ReturnType<typeof parseTargets>;
  try {
    targets = parseTargets(specs, defaultPort);
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(error.message);
    throw error;
  }
  if (excluded === null) return targets;
  const kept = targets.filter((target) => !excluded.excludes(target));
  if (kept.length === 0) throw new UsageError("every target is excluded (--exclude/--exclude-file)");
  return kept;
}
