// `exposure ack TARGET --reason TEXT --until DATE [--by NAME]`: accept a known exposure (a honeypot, a
// deliberate demo) until a date. Its changes are still recorded and shown, but page no one until the
// acknowledgement expires, which alerts once if the endpoint is still exposed (docs/readme-acknowledgements.md).
import { isIP } from "node:net";
import { userInfo } from "node:os";
import { acknowledgementId } from "../../shared/exposure/acknowledgement.ts";
import { formatEndpoint } from "../../shared/exposure/model.ts";
import { parseTarget, TargetError } from "../../shared/probe/targets.ts";
import { EXIT_OK, parseCommandArgs, UsageError } from "../args.ts";
import { openStore, STORE_HELP, STORE_OPTIONS } from "../store-args.ts";

const HELP = `usage: exposure ack TARGET --reason TEXT --until DATE [--by NAME] [options]

Acknowledges the exposure of TARGET (host:port; port 6379 when left out) until DATE: its state changes
are recorded and shown with the reason, author and expiry, but page no one until then. When it expires
with the endpoint still exposed, one alert goes out. exposure unack TARGET ends it at once.

options:
  --reason TEXT           why this exposure is accepted (required; shown in exposed, history and the report)
  --until DATE            when the acknowledgement ends: an ISO date or date-time in the future, or a
                          duration from now (30d, 12h); at most a year ahead
  --by NAME               who acknowledges it (default: the user name)
${STORE_HELP}
  -h, --help              show this help`;

const MAX_DAYS = 366;

/** One endpoint from a command-line target: "host:port", "[v6]:port", or a bare IP (port 6379). */
export function endpointArgument(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes exactly one TARGET (host:port), see --help`);
  const spec = positionals[0]!;
  let targets: ReturnType<typeof parseTarget>;
  try {
    targets = parseTarget(spec);
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(error.message);
    throw error;
  }
  const [target, ...more] = targets;
  if (!target || more.length > 0) throw new UsageError(`${command} takes one endpoint, not a block: "${spec}"`);
  // The store keys endpoints by address: a name would never match what scans record.
  if (isIP(target.host) === 0) throw new UsageError(`${command} takes an IP address and port, not a name: "${spec}"`);
  return formatEndpoint(target.host, target.port);
}

/** A future time: ISO date or date-time, or a duration from now. */
export function untilOption(value: string, now: Date): string {
  const text = value.trim();
  let until: Date | null = null;
  const duration = /^(\d+)(m|h|d)$/.exec(text);
  if (duration) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as "m" | "h" | "d"];
    until = new Date(now.getTime() + Number(duration[1]) * unit);
  } else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    until = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
  }
  if (until === null || Number.isNaN(until.getTime())) {
    throw new UsageError(`--until must be an ISO date (2026-12-31), date-time, or a duration like 30d, got "${value}"`);
  }
  if (until.getTime() <= now.getTime())
    throw new UsageError(`--until must be in the future, got ${until.toISOString()}`);
  if (until.getTime() - now.getTime() > MAX_DAYS * 86_400_000) {
    throw new UsageError(`--until must be at most ${MAX_DAYS} days ahead, got ${until.toISOString()}`);
  }
  return until.toISOString();
}

function text(name: string, value: string | undefined, max: number): string {
  const cleaned = (value ?? "").replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  if (cleaned === "") throw new UsageError(`--${name} is required and must not be empty`);
  if (cleaned.length > max) throw new UsageError(`--${name} is at most ${max} characters`);
  return cleaned;
}

export function defaultAuthor(): string {
  try {
    return userInfo().username || "unknown";
  } catch {
    return "unknown";
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...STORE_OPTIONS,
    reason: { type: "string" },
    until: { type: "string" },
    by: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const endpoint = endpointArgument("ack", positionals);
  const now = new Date();
  const reason = text("reason", values.reason, 500);
  if (values.until === undefined) throw new UsageError("--until is required (an acknowledgement always expires)");
  const until = untilOption(values.until, now);
  const author = values.by === undefined ? defaultAuthor() : text("by", values.by, 100);
  const createdAt = now.toISOString();
  const opened = await openStore(values);
  try {
    await opened.store.putAcknowledgement({
      id: acknowledgementId(endpoint, createdAt),
      endpoint,
      reason,
      author,
      createdAt,
      until,
      revokedAt: null,
      revokedBy: null,
      expiryAlertedAt: null,
    });
  } finally {
    await opened.close();
  }
  process.stdout.write(`${endpoint} acknowledged until ${until} by ${author}: ${reason}\n`);
  return EXIT_OK;
}
