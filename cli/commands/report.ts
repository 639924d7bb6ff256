// `exposure report`: the auditor's report for a period, with a manifest for tamper evidence.
import { writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { manifestFor, manifestPathFor, renderManifest } from "../../shared/report/manifest.ts";
import { loadReportInput } from "../../shared/report/queries.ts";
import { REPORT_FORMATS, type ReportFormat, renderReport } from "../../shared/report/render/index.ts";
import { buildReport } from "../../shared/report/report.ts";
import { durationMs, EXIT_OK, parseCommandArgs, UsageError } from "../args.ts";
import { openStore, STORE_HELP, STORE_OPTIONS } from "../store-args.ts";
import { timeOption } from "../time-args.ts";

const HELP = `usage: exposure report (--from TIME --to TIME | --month YYYY-MM) [options]

Builds the evidence report for a period [from, to): every scan (coverage, gaps, the longest interval
without a completed scan, the covered share), every exposure window with its level, owner, alerts and
time to remediate (median, 90th percentile), and the findings still open at the end.
With --out, also writes FILE.manifest.json (SHA-256, period, table, time); check it with \`exposure verify\`.

options:
  --from TIME             period start (ISO date or date-time, or a duration back from now: 30d)
  --to TIME               period end, exclusive (default: now)
  --month YYYY-MM         the calendar month (UTC), instead of --from/--to
  --format F              html | md | csv | json (default: from --out's extension, else md)
  --out FILE              write the report and its manifest here instead of printing the report
  --interval DURATION     the scan schedule (default 15m): a moment is covered when a scan completed
                          less than two intervals earlier
${STORE_HELP}
  -h, --help              show this help`;

const EXTENSIONS: Record<string, ReportFormat> = {
  ".html": "html",
  ".htm": "html",
  ".md": "md",
  ".csv": "csv",
  ".json": "json",
};

export function monthPeriod(month: string): { from: string; to: string } {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  const year = Number(match?.[1]);
  const index = Number(match?.[2]) - 1;
  if (!match || index < 0 || index > 11) throw new UsageError(`--month must look like 2026-03, got "${month}"`);
  return {
    from: new Date(Date.UTC(year, index, 1)).toISOString(),
    to: new Date(Date.UTC(year, index + 1, 1)).toISOString(),
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...STORE_OPTIONS,
    from: { type: "string" },
    to: { type: "string" },
    month: { type: "string" },
    format: { type: "string" },
    out: { type: "string" },
    interval: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`report takes no arguments, got "${positionals[0]}"`);
  const now = new Date();
  let period: { from: string; to: string };
  if (values.month !== undefined) {
    if (values.from !== undefined || values.to !== undefined) throw new UsageError("--month replaces --from and --to");
    period = monthPeriod(values.month);
  } else {
    if (values.from === undefined) throw new UsageError("report needs --from TIME (or --month YYYY-MM)");
    period = {
      from: timeOption("from", values.from, now),
      to: values.to ? timeOption("to", values.to, now) : now.toISOString(),
    };
  }
  if (Date.parse(period.to) <= Date.parse(period.from)) throw new UsageError("--to must be after --from");
  const format = (values.format ??
    (values.out ? EXTENSIONS[extname(values.out).toLowerCase()] : undefined) ??
    "md") as ReportFormat;
  if (!REPORT_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(", ")}, got "${format}"`);
  const scheduleIntervalMs = durationMs("interval", values.interval ?? "15m");
  if (scheduleIntervalMs <= 0) throw new UsageError("--interval must be positive");

  const opened = await openStore(values, { access: "read" });
  let text: string;
  let report: ReturnType<typeof buildReport>;
  try {
    const input = await loadReportInput(opened.store, { period, scheduleIntervalMs, now, table: opened.label });
    report = buildReport(input);
    text = renderReport(report, format);
  } finally {
    await opened.close();
  }
  if (values.out === undefined) {
    process.stdout.write(text);
    return EXIT_OK;
  }
  const manifest = manifestFor(report, format, values.out, text);
  const manifestPath = manifestPathFor(values.out);
  await writeFile(values.out, text);
  await writeFile(manifestPath, renderManifest(manifest));
  process.stdout.write(`wrote ${values.out} (sha256 ${manifest.reportSha256}) and ${manifestPath}\n`);
  return EXIT_OK;
}
