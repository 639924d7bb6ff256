// One entry point for every report format.
import type { AuditReport } from "../types.ts";
import { renderCsv } from "./csv.ts";
import { renderHtml } from "./html.ts";
import { renderJson } from "./json.ts";
import { renderMarkdown } from "./markdown.ts";

export const REPORT_FORMATS = ["html", "md", "csv", "json"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const RENDERERS: Record<ReportFormat, (report: AuditReport) => string> = {
  html: renderHtml,
  md: renderMarkdown,
  csv: renderCsv,
  json: renderJson,
};

export function renderReport(report: AuditReport, format: ReportFormat): string {
  return RENDERERS[format](report);
}
