// Wording shared by the human-readable renderers (Markdown and HTML), so both say the same thing.
import type { Asset } from "../../exposure/model.ts";
import { formatDuration } from "../time.ts";
import type { AuditReport } from "../types.ts";

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

export function gapText(gap: { accountId?: string; region?: string; source: string; error: string }): string {
  return `${[gap.source, gap.accountId, gap.region].filter(Boolean).join(" ")}: ${gap.error}`;
}
