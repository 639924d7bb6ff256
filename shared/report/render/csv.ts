// The exposure windows as CSV (RFC 4180): a header row, one row per window, CRLF line ends, fields
// quoted when they hold a comma, a double quote, CR or LF (quotes doubled). A text field that a
// spreadsheet would read as a formula (starting with = + - @ TAB or CR) gets a leading apostrophe,
// because resource names and tags come from the audited accounts and are not trusted.
import type { AuditReport, ExposureWindow } from "../types.ts";

export const CSV_COLUMNS = [
  "endpoint", // ip:port or [ipv6]:port
  "ip",
  "port",
  "level", // worst level in the window: reachable | unauthenticated
  "states", // probe states seen in the window, ";"-separated
  "start", // true start (ISO-8601 UTC), also when before the period
  "end", // ISO-8601 UTC, or "open" when still exposed at the end of the period
  "started_before_period", // true | false
  "duration_in_period_seconds", // the window clipped to the period
  "time_to_remediate_seconds", // end - start for windows closed in the period, empty when open
  "account_id",
  "region",
  "resource_type",
  "resource_id",
  "resource_name",
  "alerts", // alert kinds raised in the window, ";"-separated
] as const;

export function csvField(value: string | number | boolean | null): string {
  if (value === null) return "";
  if (typeof value !== "string") return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function row(window: ExposureWindow): Array<string | number | boolean | null> {
  return [
    window.endpoint,
    window.ip,
    window.port,
    window.level,
    window.states.join(";"),
    window.start,
    window.end ?? "open",
    window.startedBeforePeriod,
    Math.round(window.durationInPeriodMs / 1000),
    window.timeToRemediateMs === null ? null : Math.round(window.timeToRemediateMs / 1000),
    window.owner?.accountId ?? null,
    window.owner?.region ?? null,
    window.owner?.resourceType ?? null,
    window.owner?.resourceId ?? null,
    window.owner?.name ?? null,
    window.alerts.join(";"),
  ];
}

export function renderCsv(report: AuditReport): string {
  const lines = [CSV_COLUMNS.join(","), ...report.windows.map((window) => row(window).map(csvField).join(","))];
  return `${lines.join("\r\n")}\r\n`;
}
