// The probe's options, shared by `probe`, `scan` and `watch`: parsed and checked once, before anything runs.
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { AddressSet } from "../shared/net/ip.ts";
import { printable } from "../shared/printable.ts";
import { DEFAULT_CONCURRENCY } from "../shared/probe/batch.ts";
import { DEFAULT_PROBE_OPTIONS, type ProbeOptions } from "../shared/probe/probe.ts";
import { DEFAULT_PORT, MAX_TARGETS, parseTargets, TargetError, targetSpecsFromText } from "../shared/probe/targets.ts";
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

export const PROBE_HELP = `  --targets FILE          read targets from FILE (a regular file of 16 MiB at most), one per line, "#" starts a comment
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
