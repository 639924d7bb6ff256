// Canonical JSON: object keys sorted at every level, arrays kept in the report's own (sorted) order,
// two-space indent and a final newline. The same report always gives byte-identical output.
import type { AuditReport } from "../types.ts";

export function canonicalJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([key, inner]) => [key, sortKeys(inner)]));
  }
  return value;
}

export function renderJson(report: AuditReport): string {
  return canonicalJson(report);
}
