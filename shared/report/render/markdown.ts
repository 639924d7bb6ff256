// The report as Markdown: summary list, then windows, open findings and scans as tables.
// Every value from the history is escaped, so a server fact or tag cannot add markup or break a table.
import { formatDuration } from "../time.ts";
import type { AuditReport } from "../types.ts";
import { gapText, optionalDuration, ownerLabel, summaryLines } from "./labels.ts";

export function markdownText(value: string | number): string {
  return String(value)
    .replace(/[\r\n]+/g, " ")
    .replace(/[\\`*_[\]<>|&#!~]/g, (char) =>
      char === "&" ? "&amp;" : char === "<" ? "&lt;" : char === ">" ? "&gt;" : `\\${char}`,
    );
}

function table(headers: string[], rows: Array<Array<string | number>>): string[] {
  if (rows.length === 0) return ["_none_"];
  return [
    `| ${headers.join(" | ")} |`,
    `| ${headers.map(() => "---").join(" | ")} |`,
    ...rows.map((cells) => `| ${cells.map(markdownText).join(" | ")} |`),
  ];
}

export function renderMarkdown(report: AuditReport): string {
  const lines: string[] = [
    `# Redis exposure report ${markdownText(report.period.from)} to ${markdownText(report.period.to)}`,
    "",
    ...summaryLines(report).map(([label, value]) => `- **${label}:** ${markdownText(value)}`),
    "",
    "## Exposure windows",
    "",
    ...table(
      ["Endpoint", "Level", "Start", "End", "In period", "Time to remediate", "Owner", "Alerts"],
      report.windows.map((w) => [
        w.endpoint,
        w.level,
        w.start + (w.startedBeforePeriod ? " (before period)" : ""),
        w.end ?? "open",
        formatDuration(w.durationInPeriodMs),
        optionalDuration(w.timeToRemediateMs),
        ownerLabel(w.owner),
        w.alerts.join(", ") || "none",
      ]),
    ),
    "",
    "## Open findings at the end of the period",
    "",
    ...table(
      ["Severity", "Endpoint", "Finding", "First seen", "Owner", "Remediation"],
      report.openFindings.map((f) => [
        f.severity,
        f.endpoint,
        `${f.findingId}: ${f.title}`,
        f.firstSeen,
        ownerLabel(f.owner),
        f.remediation,
      ]),
    ),
    "",
    "## Scans",
    "",
    ...table(
      ["Scan", "Started", "Completed", "Targets", "Shards", "Accounts read", "Regions read", "Gaps"],
      report.coverage.scans.map((s) => [
        s.scanId,
        s.startedAt,
        s.completedAt ?? "incomplete",
        s.targets,
        `${s.shardsDone}/${s.shards}`,
        s.accountsRead.join(", ") || "none",
        s.regionsRead.join(", ") || "none",
        s.gaps.map(gapText).join("; ") || "none",
      ]),
    ),
    "",
  ];
  return lines.join("\n");
}
