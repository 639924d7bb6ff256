// Known Redis CVEs that matter from the outside, as data: add a row to extend it.
// Source: redis-probe.md ("Known critical CVEs by fixed version"), Redis security advisories.
import type { Severity } from "../../exposure/model.ts";

export interface KnownCve {
  id: string;
  title: string;
  severity: Severity;
  /** The first fixed release of each minor line that got a fix. */
  fixedIn: string[];
}

export const REDIS_CVES: KnownCve[] = [
  {
    id: "CVE-2025-49844",
    title: 'Lua use-after-free allows remote code execution ("RediShell")',
    severity: "critical",
    fixedIn: ["6.2.20", "7.2.11", "7.4.6", "8.0.4", "8.2.2"],
  },
  {
    id: "CVE-2025-46817",
    title: "Lua unpack integer overflow may allow remote code execution",
    severity: "high",
    fixedIn: ["6.2.20", "7.2.11", "7.4.6", "8.0.4", "8.2.2"],
  },
  {
    id: "CVE-2025-46818",
    title: "Lua metatable manipulation lets a user run code in another user's context",
    severity: "high",
    fixedIn: ["6.2.20", "7.2.11", "7.4.6", "8.0.4", "8.2.2"],
  },
  {
    id: "CVE-2025-46819",
    title: "Lua out-of-bounds read can crash the server",
    severity: "high",
    fixedIn: ["6.2.20", "7.2.11", "7.4.6", "8.0.4", "8.2.2"],
  },
  {
    id: "CVE-2025-32023",
    title: "HyperLogLog out-of-bounds write may allow remote code execution",
    severity: "high",
    fixedIn: ["6.2.19", "7.2.10", "7.4.5", "8.0.3"],
  },
  {
    id: "CVE-2025-48367",
    title: "Unauthenticated connection accept errors cause denial of service",
    severity: "high",
    fixedIn: ["6.2.19", "7.2.10", "7.4.5", "8.0.3"],
  },
  {
    id: "CVE-2025-21605",
    title: "Unauthenticated clients can grow the output buffer without limit",
    severity: "high",
    fixedIn: ["6.2.18", "7.2.8", "7.4.3"],
  },
  {
    id: "CVE-2024-46981",
    title: "Lua garbage collector use-after-free may allow remote code execution",
    severity: "high",
    fixedIn: ["7.2.7", "7.4.2"],
  },
  {
    id: "CVE-2024-31449",
    title: "Lua bit library stack overflow may allow remote code execution",
    severity: "high",
    fixedIn: ["6.2.16", "7.2.6", "7.4.1"],
  },
  {
    id: "CVE-2022-24834",
    title: "cjson/cmsgpack heap overflow may allow remote code execution",
    severity: "high",
    fixedIn: ["6.0.20", "6.2.13", "7.0.12"],
  },
  {
    id: "CVE-2021-32675",
    title: "Unauthenticated RESP requests can exhaust memory",
    severity: "high",
    fixedIn: ["5.0.14", "6.0.16", "6.2.6"],
  },
];
// CVE-2022-0543 (Debian/Ubuntu Lua sandbox escape) is left out on purpose: the version number alone
// cannot show it, and a finding that cannot be evidenced would be a guess.

/** Parses "7.0.15" (or "7.0.15-rc1", "255.255.255") into numbers; null when it is not a version. */
export function parseVersion(text: string): number[] | null {
  const match = /^(\d{1,5})\.(\d{1,5})(?:\.(\d{1,5}))?/.exec(text.trim());
  if (!match) return null;
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/**
 * Affected when below the fixed release of its own minor line. A line with no fixed release is affected
 * throughout, unless it is newer than every fixed release (it was born with the fix).
 */
export function isAffected(version: string, cve: KnownCve): { affected: boolean; fixedIn: string | null } {
  const parsed = parseVersion(version);
  if (!parsed) return { affected: false, fixedIn: null };
  const fixes = cve.fixedIn.map((fixed) => ({ text: fixed, parts: parseVersion(fixed) as number[] }));
  const sameLine = fixes.find((fix) => fix.parts[0] === parsed[0] && fix.parts[1] === parsed[1]);
  if (sameLine) {
    const affected = compareVersions(parsed, sameLine.parts) < 0;
    return { affected, fixedIn: affected ? sameLine.text : null };
  }
  const newest = fixes.reduce((a, b) => (compareVersions(a.parts, b.parts) >= 0 ? a : b));
  if (compareVersions(parsed, newest.parts) > 0) return { affected: false, fixedIn: null };
  // Upgrade advice: the oldest fixed release newer than this version.
  const next = fixes
    .filter((fix) => compareVersions(fix.parts, parsed) > 0)
    .sort((a, b) => compareVersions(a.parts, b.parts))[0];
  return { affected: true, fixedIn: next?.text ?? newest.text };
}
