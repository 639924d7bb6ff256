// The exposure windows as CSV (RFC 4180): a header row, one row per window, then one row per
// acknowledgement in force during the period (column `record` tells them apart; the acknowledgement's
// fields are in the `ack_` columns, after the windows' own), CRLF line ends, fields quoted when they hold
// a comma, a double quote, CR or LF (quotes doubled). A text field that a spreadsheet would read as a
// formula (starting with = + - @ TAB or CR) gets a leading apostrophe, because resource names and tags
// come from the audited accounts, and acknowledgement reasons from people, and are not trusted.
import type { Acknowledgement } from "../../exposure/acknowledgement.ts";
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
  "record", // window | acknowledgement: what the row is (an acknowledgement fills only endpoint, ip, port and ack_)
  "ack_id",
  "ack_from", // when it was made (ISO-8601 UTC)
  "ack_until", // when it expires
  "ack_revoked_at", // when it was ended early (exposure unack), else empty
  "ack_revoked_by",
  "ack_by", // who made it
  "ack_reason",
  "ack_expiry_alerted_at", // when its one expiry alert was raised, else empty
] as const;

/** The `ack_` columns: empty on a window's row. */
const ACK_FIELDS = CSV_COLUMNS.length - CSV_COLUMNS.indexOf("record") - 1;

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
    "window",
    ...Array<null>(ACK_FIELDS).fill(null),
  ];
}

/** "ip:port" or "[ipv6]:port" -> [ip, port]. */
function ipAndPort(endpoint: string): [string, number] {
  const colon = endpoint.lastIndexOf(":");
  return [endpoint.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), Number(endpoint.slice(colon + 1))];
}

function ackRow(ack: Acknowledgement): Array<string | number | boolean | null> {
  const windowFields = CSV_COLUMNS.indexOf("record") - 3;
  return [
    ack.endpoint,
    ...ipAndPort(ack.endpoint),
    ...Array<null>(windowFields).fill(null),
    "acknowledgement",
    ack.id,
    ack.createdAt,
    ack.until,
    ack.revokedAt,
    ack.revokedBy,
    ack.author,
    ack.reason,
    ack.expiryAlertedAt,
  ];
}

export function renderCsv(report: AuditReport): string {
  const rows = [...report.windows.map(row), ...report.acknowledgements.map(ackRow)];
  const lines = [CSV_COLUMNS.join(","), ...rows.map((fields) => fields.map(csvField).join(","))];
  return `${lines.join("\r\n")}\r\n`;
}
