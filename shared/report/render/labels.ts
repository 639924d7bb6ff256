// Wording shared by the human-readable renderers (Markdown and HTML), so both say the same thing.
import type { Asset } from "../../exposure/model.ts";
import { protocolsLabel } from "../../protocols/registry.ts";
import { formatDuration } from "../time.ts";
import type { AuditReport } from "../types.ts";

/** "<protocols> exposure report <from> to <to>", named by the protocols the monitor speaks. */
export function reportTitle(report: AuditReport, text: (value: string) => string = (value) => value): string {
  return `${protocolsLabel()} exposure report ${text(report.period.from)} to ${text(report.period.to)}`;
}

export function ownerLabel(owner: Asset | null): string {
  if (!owner) return "unknown";
  const name = owner.name ? ` (${owner.name})` : "";
  return `${owner.accountId} ${owner.region} ${owner.resourceType} ${owner.resourceId}${name}`;
}

export function percent(share: number): string {
  return `${(share * 100).toFixed(2)}%`;
}

export function optionalDuration(ms: number | null): string {
  return ms === null ? "n/a" : formatDuration(ms);
}

/** The headline facts, in the order a reader wants them. */
export function summaryLines(report: AuditReport): Array<[string, string]> {
  const s = report.summary;
  const c = report.coverage;
  const open = Object.entries(s.openFindings)
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${count} ${severity}`);
  return [
    ["Period", `${report.period.from} to ${report.period.to} (end exclusive)`],
    ["Endpoints exposed in the period", String(s.endpointsExposed)],
    [
      "Exposure windows",
      `${s.windows} (${s.openWindows} still open at the end, ${s.unauthenticatedWindows} unauthenticated)`,
    ],
    [
      "Owners",
      `${s.owners} resources in ${s.accounts} accounts (${s.windowsWithoutOwner} windows without a known owner)`,
    ],
    ["Most endpoints exposed at once", String(s.maxExposedAtOnce)],
    [
      "Time to remediate",
      `median ${optionalDuration(s.timeToRemediate.medianMs)}, 90th percentile ${optionalDuration(s.timeToRemediate.p90Ms)} (${s.timeToRemediate.closedWindows} closed windows)`,
    ],
    ["Open findings", open.length > 0 ? open.join(", ") : "none"],
    [
      "Scans",
      `${s.scans} (${c.completedScans} completed, ${c.incompleteScans} incomplete, ${c.scansWithGaps} with coverage gaps)`,
    ],
    [
      "Covered share of the period",
      `${percent(s.coveredShare)} (a scan completed less than 2 x ${formatDuration(c.scheduleIntervalMs)} earlier)`,
    ],
    [
      "Longest interval without a completed scan",
      `${formatDuration(s.longestWithoutCompletedScanMs)} (${c.longestWithoutCompletedScan.from} to ${c.longestWithoutCompletedScan.to})`,
    ],
    ["Source", report.table],
    ["Generated", report.generatedAt],
  ];
}

export function gapText(gap: {
  accountId?: string;
  region?: string;
  source: string;
  error: string;
  count?: number;
}): string {
  const times = gap.count !== undefined && gap.count > 1 ? ` (${gap.count.toLocaleString("en-US")} times)` : "";
  return `${[gap.source, gap.accountId, gap.region].filter(Boolean).join(" ")}: ${gap.error}${times}`;
}

/** The three tables both renderers show: columns and the cells of one row. */
export const WINDOW_COLUMNS = [
  "Endpoint",
  "Level",
  "Start",
  "End",
  "In period",
  "Time to remediate",
  "Owner",
  "Alerts",
];

export function windowCells(w: AuditReport["windows"][number]): Array<string | number> {
  return [
    w.endpoint,
    w.level,
    w.start + (w.startedBeforePeriod ? " (before period)" : ""),
    w.end ?? "open",
    formatDuration(w.durationInPeriodMs),
    optionalDuration(w.timeToRemediateMs),
    ownerLabel(w.owner),
    w.alerts.join(", ") || "none",
  ];
}

export const FINDING_COLUMNS = ["Severity", "Endpoint", "Finding", "First seen", "Owner", "Remediation"];

export function findingCells(f: AuditReport["openFindings"][number]): Array<string | number> {
  return [f.severity, f.endpoint, `${f.findingId}: ${f.title}`, f.firstSeen, ownerLabel(f.owner), f.remediation];
}

export const LATENT_COLUMNS = ["Endpoint", "State", "Observed", "Owner", "Path", "To close it"];

export function latentCells(l: AuditReport["latentExposures"][number]): Array<string | number> {
  return [l.endpoint, l.state, l.observedAt, ownerLabel(l.owner), l.path, l.remediation];
}

export const SCAN_COLUMNS = [
  "Scan",
  "Started",
  "Completed",
  "Targets",
  "Shards",
  "Accounts read",
  "Regions read",
  "Gaps",
];

export function scanCells(s: AuditReport["coverage"]["scans"][number]): Array<string | number> {
  return [
    s.scanId,
    s.startedAt,
    s.completedAt ?? "incomplete",
    s.targets,
    `${s.shardsDone}/${s.shards}`,
    s.accountsRead.join(", ") || "none",
    s.regionsRead.join(", ") || "none",
    s.gaps.map(gapText).join("; ") || "none",
  ];
}

export const ACK_COLUMNS = ["Endpoint", "From", "Until", "Ended early", "By", "Reason", "Expiry alert"];

export function ackCells(a: AuditReport["acknowledgements"][number]): string[] {
  return [
    a.endpoint,
    a.createdAt,
    a.until,
    a.revokedAt ? `${a.revokedAt} by ${a.revokedBy ?? "unknown"}` : "no",
    a.author,
    a.reason,
    a.expiryAlertedAt ?? "none",
  ];
}
