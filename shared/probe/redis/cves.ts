// Known CVEs that matter from the outside, per product, as data: each row names its source (the vendor's
// release notes or advisory). Add a row to extend a table. A product without a table (Dragonfly) gets no
// version-based finding: its releases are numbered on their own. See docs/readme-probe.md, "Product and version".
import type { Severity } from "../../exposure/model.ts";
import { compareVersions, type Product, parseVersion } from "./facts.ts";

export interface KnownCve {
  id: string;
  title: string;
  severity: Severity;
  /** The first fixed release of each minor line that got a fix; empty: no release fixes it. */
  fixedIn: string[];
  /** The release the flaw arrived with: older versions are not affected (e.g. a command added in 8.2). */
  introducedIn?: string;
  /** Where the rows' facts come from: the vendor's release notes or advisory. */
  source: string;
}

const LUA_2025 = "redis/redis 00-RELEASENOTES 6.2.20, 7.2.11, 7.4.6, 8.0.4, 8.2.2 (October 2025)";
const MAY_2026 = "redis/redis release 7.2.14; redis/docs PR #3292 (7.4.9, 8.2.6, 8.4.3, 8.6.3, May 2026)";

export const REDIS_CVES: KnownCve[] = [
  {
    id: "CVE-2026-23479",
    title: "Use-after-free in the unblock-client flow may allow remote code execution",
    severity: "high",
    fixedIn: ["7.2.14", "7.4.9", "8.2.6", "8.4.3", "8.6.3"],
    source: MAY_2026,
  },
  {
    id: "CVE-2026-25243",
    title: "Invalid memory access in RESTORE may allow remote code execution",
    severity: "high",
    fixedIn: ["7.2.14", "7.4.9", "8.2.6", "8.4.3", "8.6.3"],
    source: MAY_2026,
  },
  {
    id: "CVE-2026-23631",
    title: "Lua use-after-free through replica synchronisation may allow remote code execution",
    severity: "high",
    fixedIn: ["7.2.14", "7.4.9", "8.2.6", "8.4.3", "8.6.3"],
    source: `${MAY_2026}; every version with Lua scripting is affected (GHSA-8ghh-qpmp-7826)`,
  },
  {
    id: "CVE-2025-62507",
    title: "XACKDEL stack overflow may allow remote code execution",
    severity: "high",
    fixedIn: ["8.2.3"],
    // XACKDEL came with 8.2 (8.2.0 release notes): 8.0 and older are not affected.
    introducedIn: "8.2.0",
    source: "redis/redis 8.2 00-RELEASENOTES: 8.2.3 (November 2025); XACKDEL new in 8.2.0",
  },
  {
    id: "CVE-2025-49844",
    title: 'Lua use-after-free allows remote code execution ("RediShell")',
    severity: "critical",
    fixedIn: ["6.2.20", "7.2.11", "7.4.6", "8.0.4", "8.2.2"],
    source: LUA_2025,
  },
  {
    id: "CVE-2025-46817",
    title: "Lua unpack integer overflow may allow remote code execution",
    severity: "high",
    fixedIn: ["6.2.20", "7.2.11", "7.4.6", "8.0.4", "8.2.2"],
    source: LUA_2025,
  },
  {
    id: "CVE-2025-46818",
    title: "Lua metatable manipulation lets a user run code in another user's context",
    severity: "high",
    fixedIn: ["6.2.20", "7.2.11", "7.4.6", "8.0.4", "8.2.2"],
    source: LUA_2025,
  },
  {
    id: "CVE-2025-46819",
    title: "Lua out-of-bounds read can crash the server",
    severity: "high",
    fixedIn: ["6.2.20", "7.2.11", "7.4.6", "8.0.4", "8.2.2"],
    source: LUA_2025,
  },
  {
    id: "CVE-2025-32023",
    title: "HyperLogLog out-of-bounds write may allow remote code execution",
    severity: "high",
    fixedIn: ["6.2.19", "7.2.10", "7.4.5", "8.0.3"],
    source: "redis/redis release notes 6.2.19, 7.2.10, 7.4.5, 8.0.3 (July 2025); PRs #14172-14174",
  },
  {
    id: "CVE-2025-48367",
    title: "Unauthenticated connection accept errors cause denial of service",
    severity: "high",
    fixedIn: ["6.2.19", "7.2.10", "7.4.5", "8.0.3"],
    source: "redis/redis release notes 6.2.19, 7.2.10, 7.4.5, 8.0.3 (July 2025); PRs #14172-14174",
  },
  {
    id: "CVE-2025-21605",
    title: "Unauthenticated clients can grow the output buffer without limit",
    severity: "high",
    fixedIn: ["6.2.18", "7.2.8", "7.4.3"],
    source: "redis/redis release notes 6.2.18, 7.2.8, 7.4.3 (April 2025); PRs #13971, #13993",
  },
  {
    id: "CVE-2024-46981",
    title: "Lua garbage collector use-after-free may allow remote code execution",
    severity: "high",
    fixedIn: ["7.2.7", "7.4.2"],
    source: "redis/redis release notes 7.2.7, 7.4.2 (January 2025)",
  },
  {
    id: "CVE-2024-31449",
    title: "Lua bit library stack overflow may allow remote code execution",
    severity: "high",
    fixedIn: ["6.2.16", "7.2.6", "7.4.1"],
    source: "redis/redis release notes 6.2.16, 7.2.6, 7.4.1 (October 2024)",
  },
  {
    id: "CVE-2022-24834",
    title: "cjson/cmsgpack heap overflow may allow remote code execution",
    severity: "high",
    fixedIn: ["6.0.20", "6.2.13", "7.0.12"],
    source: "redis/redis release notes 6.0.20, 6.2.13, 7.0.12 (July 2023)",
  },
  {
    id: "CVE-2021-32675",
    title: "Unauthenticated RESP requests can exhaust memory",
    severity: "high",
    fixedIn: ["5.0.14", "6.0.16", "6.2.6"],
    source: "redis/redis release notes 5.0.14, 6.0.16, 6.2.6 (October 2021)",
  },
];
// CVE-2022-0543 (Debian/Ubuntu Lua sandbox escape) is left out on purpose: the version number alone
// cannot show it, and a finding that cannot be evidenced would be a guess.

const VALKEY_LUA_2025 = "Valkey 8.1.4 release notes; SUSE valkey 8.0.6 changelog (October 2025)";

/** Valkey's own releases (valkey_version), from Valkey's release notes. */
export const VALKEY_CVES: KnownCve[] = [
  {
    id: "CVE-2026-56684",
    title: "TLS connection use-after-free through CLIENT KILL may allow remote code execution",
    severity: "high",
    fixedIn: ["8.0.10", "8.1.9", "9.0.5", "9.1.1"],
    source: "valkey-io/valkey releases 8.1.9, 9.0.5, 9.1.1 (July 2026)",
  },
  {
    id: "CVE-2026-63639",
    title: "Stream RDB payload with a NACK shared across consumers may allow remote code execution",
    severity: "high",
    fixedIn: ["8.0.10", "8.1.9", "9.0.5", "9.1.1"],
    source: "valkey-io/valkey releases 8.1.9, 9.0.5, 9.1.1 (July 2026)",
  },
  {
    id: "CVE-2026-23479",
    title: "Use-after-free in the unblock-client flow may allow remote code execution",
    severity: "high",
    fixedIn: ["7.2.13", "8.0.9", "8.1.7", "9.0.4"],
    source: "Valkey 8.1.7 and 9.0.4 release notes (May 2026)",
  },
  {
    id: "CVE-2026-25243",
    title: "Invalid memory access in RESTORE may allow remote code execution",
    severity: "high",
    fixedIn: ["7.2.13", "8.0.9", "8.1.7", "9.0.4"],
    source: "Valkey 8.1.7 and 9.0.4 release notes (May 2026)",
  },
  {
    id: "CVE-2026-23631",
    title: "Lua use-after-free through replica synchronisation may allow remote code execution",
    severity: "high",
    fixedIn: ["7.2.13", "8.0.9", "8.1.7", "9.0.4"],
    source: "Valkey 8.1.7 and 9.0.4 release notes (May 2026)",
  },
  {
    id: "CVE-2026-21863",
    title: "Malformed cluster-bus message crashes the server (unauthenticated denial of service)",
    severity: "high",
    fixedIn: ["7.2.12", "8.0.7", "8.1.6", "9.0.3"],
    source: "Valkey 9.0.3 release notes; Valkey advisory summary (7.2.12, 8.0.7, 8.1.6, 9.0.3, February 2026)",
  },
  {
    id: "CVE-2025-67733",
    title: "Lua error_reply lets a script inject replies into the protocol stream",
    severity: "high",
    fixedIn: ["7.2.12", "8.0.7", "8.1.6", "9.0.3"],
    source: "Valkey 9.0.3 release notes; CVE record GHSA-p876-p7q5-hv2m (February 2026)",
  },
  {
    id: "CVE-2025-49844",
    title: 'Lua use-after-free allows remote code execution ("RediShell")',
    severity: "critical",
    fixedIn: ["8.0.6", "8.1.4"],
    source: VALKEY_LUA_2025,
  },
  {
    id: "CVE-2025-46817",
    title: "Lua unpack integer overflow may allow remote code execution",
    severity: "high",
    fixedIn: ["8.0.6", "8.1.4"],
    source: VALKEY_LUA_2025,
  },
  {
    id: "CVE-2025-46818",
    title: "Lua metatable manipulation lets a user run code in another user's context",
    severity: "high",
    fixedIn: ["8.0.6", "8.1.4"],
    source: VALKEY_LUA_2025,
  },
  {
    id: "CVE-2025-46819",
    title: "Lua out-of-bounds read can crash the server",
    severity: "high",
    fixedIn: ["8.0.6", "8.1.4"],
    source: VALKEY_LUA_2025,
  },
  {
    id: "CVE-2025-32023",
    title: "HyperLogLog out-of-bounds write may allow remote code execution",
    severity: "high",
    fixedIn: ["8.1.3"],
    source: "SUSE valkey 8.1.3 changelog, from Valkey's 8.1.3 release notes (July 2025)",
  },
  {
    id: "CVE-2025-48367",
    title: "Unauthenticated connection accept errors cause denial of service",
    severity: "high",
    fixedIn: ["8.1.3"],
    source: "SUSE valkey 8.1.3 changelog, from Valkey's 8.1.3 release notes (July 2025)",
  },
];

/**
 * KeyDB: the 2025 Lua fixes were never merged into a release (Snapchat/KeyDB PR #918 open in 2026), so
 * every KeyDB version is affected. Its reported version can be overridden in its config, so no other
 * version-based row would be trustworthy.
 */
export const KEYDB_CVES: KnownCve[] = [
  {
    id: "CVE-2025-49844",
    title: 'Lua use-after-free allows remote code execution ("RediShell"), unfixed in KeyDB',
    severity: "critical",
    fixedIn: [],
    source: "Snapchat/KeyDB PR #918 (the Lua fixes, unmerged)",
  },
  {
    id: "CVE-2025-46817",
    title: "Lua unpack integer overflow may allow remote code execution, unfixed in KeyDB",
    severity: "high",
    fixedIn: [],
    source: "Snapchat/KeyDB PR #918 (the Lua fixes, unmerged)",
  },
  {
    id: "CVE-2025-46819",
    title: "Lua out-of-bounds read can crash the server, unfixed in KeyDB",
    severity: "high",
    fixedIn: [],
    source: "Snapchat/KeyDB PR #918 (the Lua fixes, unmerged)",
  },
];

/** Each product's table and the INFO field its version comes from; a product missing here gets no CVE finding. */
export const CVE_TABLES: Partial<Record<Product, { versionField: string; cves: KnownCve[] }>> = {
  redis: { versionField: "redis_version", cves: REDIS_CVES },
  valkey: { versionField: "valkey_version", cves: VALKEY_CVES },
  keydb: { versionField: "redis_version", cves: KEYDB_CVES },
};

/**
 * Affected when below the fixed release of its own minor line. A line with no fixed release is affected
 * throughout, unless it is newer than every fixed release (it was born with the fix) or older than the
 * release that brought the flaw. A CVE without any fixed release affects every version.
 */
export function isAffected(version: string, cve: KnownCve): { affected: boolean; fixedIn: string | null } {
  const parsed = parseVersion(version);
  if (!parsed) return { affected: false, fixedIn: null };
  const introduced = cve.introducedIn ? parseVersion(cve.introducedIn) : null;
  if (introduced && compareVersions(parsed, introduced) < 0) return { affected: false, fixedIn: null };
  if (cve.fixedIn.length === 0) return { affected: true, fixedIn: null };
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
