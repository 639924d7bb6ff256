// Tamper evidence: a manifest beside each report holding the SHA-256 of the report's exact bytes, the
// period, the table and the time it was made. Anyone can recompute the hash (`exposure verify`, or
// `sha256sum`); keep the manifest (or its hash) somewhere the report's holder cannot write.
import { createHash } from "node:crypto";
import { basename } from "node:path";
import type { ReportFormat } from "./render/index.ts";
import { canonicalJson } from "./render/json.ts";
import type { AuditReport, Period } from "./types.ts";

export interface ReportManifest {
  reportSha256: string;
  period: Period;
  table: string;
  generatedAt: string;
  format: ReportFormat;
  /** The report's file name (no directory), so the pair can be moved together. */
  file: string;
}

export function sha256Hex(bytes: string | Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function manifestFor(
  report: AuditReport,
  format: ReportFormat,
  reportPath: string,
  bytes: string,
): ReportManifest {
  return {
    reportSha256: sha256Hex(bytes),
    period: report.period,
    table: report.table,
    generatedAt: report.generatedAt,
    format,
    file: basename(reportPath),
  };
}

/** REPORT.html -> REPORT.html.manifest.json */
export function manifestPathFor(reportPath: string): string {
  return `${reportPath}.manifest.json`;
}

export function renderManifest(manifest: ReportManifest): string {
  return canonicalJson(manifest);
}

export type VerifyResult = { ok: true; message: string } | { ok: false; message: string };

/** Checks a report's bytes against a manifest's text; the message is one line either way. */
export function verifyReport(reportBytes: Uint8Array, reportName: string, manifestText: string): VerifyResult {
  let manifest: Partial<ReportManifest>;
  try {
    manifest = JSON.parse(manifestText) as Partial<ReportManifest>;
  } catch {
    return { ok: false, message: "MISMATCH: the manifest is not valid JSON" };
  }
  if (typeof manifest?.reportSha256 !== "string" || !/^[0-9a-f]{64}$/.test(manifest.reportSha256)) {
    return { ok: false, message: "MISMATCH: the manifest has no valid reportSha256" };
  }
  const actual = sha256Hex(reportBytes);
  if (actual !== manifest.reportSha256) {
    return {
      ok: false,
      message: `MISMATCH: ${reportName} has sha256 ${actual}, the manifest says ${manifest.reportSha256}`,
    };
  }
  const period = manifest.period ? ` for ${manifest.period.from} to ${manifest.period.to}` : "";
  const table = manifest.table ? ` from ${manifest.table}` : "";
  return {
    ok: true,
    message: `OK: ${reportName} matches its manifest (sha256 ${actual})${period}${table}, generated ${manifest.generatedAt ?? "at an unknown time"}`,
  };
}
