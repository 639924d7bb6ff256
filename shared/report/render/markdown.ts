// The report as Markdown: summary list, then windows, open findings and scans as tables.
// Every value from the history is escaped, so a server fact or tag cannot add markup or break a table.
import type { AuditReport } from "../types.ts";
import {
  ACK_COLUMNS,
  ackCells,
  FINDING_COLUMNS,
  findingCells,
  LATENT_COLUMNS,
  latentCells,
  reportTitle,
  SCAN_COLUMNS,
  scanCells,
  summaryLines,
  WINDOW_COLUMNS,
  windowCells,
} from "./labels.ts";

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
    `# ${reportTitle(report, markdownText)}`,
    "",
    ...summaryLines(report).map(([label, value]) => `- **${label}:** ${markdownText(value)}`),
    "",
    "## Exposure windows",
    "",
    ...table(WINDOW_COLUMNS, report.windows.map(windowCells)),
    "",
    "## Open findings at the end of the period",
    "",
    ...table(FINDING_COLUMNS, report.openFindings.map(findingCells)),
    "",
    "## Latent exposures (the configuration opens the port, nothing answered)",
    "",
    ...table(LATENT_COLUMNS, report.latentExposures.map(latentCells)),
    "",
    "## Scans",
    "",
    ...table(SCAN_COLUMNS, report.coverage.scans.map(scanCells)),
    "",
    "## Acknowledgements in force during the period",
    "",
    ...table(ACK_COLUMNS, report.acknowledgements.map(ackCells)),
    "",
  ];
  return lines.join("\n");
}
