// Small helpers every subcommand uses, so that bad input always ends the same way:
// one line on stderr, exit code 2, and nothing done.
import { type ParseArgsConfig, parseArgs } from "node:util";

/** An error whose message is shown to the user as is, on one line. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs in strict mode, with its errors turned into one-line UsageErrors. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    // node:util appends a paragraph of advice; the first sentence is the error.
    const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]?.split(". ")[0];
    throw new UsageError(message || "invalid arguments");
  }
}

/** Parses a positive integer option, or throws a UsageError naming the option. */
export function intOption(name: string, value: string | undefined, fallback: number, min = 1, max = 1_000_000): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Parses a duration such as "500ms", "30s", "15m", "2h", "30d". */
export function durationMs(name: string, value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) throw new UsageError(`--${name} must be a duration like 30s, 15m, 2h or 30d, got "${value}"`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "ms" | "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}

/** The exit code of `--fail-on`: some endpoint is at least that exposed. */
export const EXIT_EXPOSED = 3;

export const FAIL_ON_HELP = `  --fail-on LEVEL         exit ${EXIT_EXPOSED} when any endpoint is at LEVEL or worse: reachable | unauthenticated`;

export type FailOnLevel = "reachable" | "unauthenticated";

/** Checks `--fail-on`; undefined when not given. */
export function failOnLevel(value: string | undefined): FailOnLevel | undefined {
  if (value === undefined) return undefined;
  if (value !== "reachable" && value !== "unauthenticated") {
    throw new UsageError(`--fail-on must be "reachable" or "unauthenticated", got "${value}"`);
  }
  return value;
}

/** True when `--fail-on` was given and any of the exposures reaches its level. */
export function failsOn(level: FailOnLevel | undefined, exposures: Iterable<"none" | FailOnLevel>): boolean {
  if (level === undefined) return false;
  for (const exposure of exposures) {
    if (exposure === "unauthenticated" || (exposure === "reachable" && level === "reachable")) return true;
  }
  return false;
}
