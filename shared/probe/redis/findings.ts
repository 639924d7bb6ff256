// Findings: known CVEs by product and version, and signs of compromise visible in INFO (read-only).
// See docs/readme-probe.md, "Product and version" and "Signs of compromise".

import type { Finding } from "../../exposure/model.ts";
import { type AddressSet, ipFamily, isPrivateAddress } from "../../net/ip.ts";
import { CVE_TABLES, isAffected, type KnownCve } from "./cves.ts";
import type { ServerFacts } from "./facts.ts";
import type { InfoFields } from "./info.ts";

export interface FindingOptions {
  /** Addresses a replica may legitimately replicate from: the organization's own, plus configured ones. */
  allowedMasters?: AddressSet;
  cves?: KnownCve[];
}

const TEMP_DIRECTORY = /^\/(tmp|dev\/shm|var\/tmp)(\/|$)/;
/**
 * Administrative commands an outsider runs to take over a Redis (rogue master, module load, config rewrite, wipe).
 * Redis 7 counts subcommands ("module|load"); older versions count the whole command ("module"). A bare
 * "config" is left out: before 7 it also counts the harmless CONFIG GET of monitoring agents.
 */
const ADMIN_COMMANDS = ["slaveof", "replicaof", "module|load", "module", "config|set", "flushall"];
/** Commands whose failed or refused calls show someone tried to take the server over. */
const TAKEOVER_ATTEMPTS = ["module|load", "module", "slaveof", "replicaof", "config|set"];

/**
 * CVE findings from the table of the server's own product (cves.ts, CVE_TABLES): Valkey by valkey_version,
 * never by its redis_version compatibility field. A product without a table gets none.
 */
export function cveFindings(facts: ServerFacts, cves?: KnownCve[]): Finding[] {
  const table = CVE_TABLES[facts.product];
  if (!table || !facts.version) return [];
  const findings: Finding[] = [];
  for (const cve of cves ?? table.cves) {
    const { affected, fixedIn } = isAffected(facts.version, cve);
    if (!affected) continue;
    const finding: Finding = {
      id: cve.id,
      kind: "cve",
      severity: cve.severity,
      title: cve.title,
      evidence: `${table.versionField}:${facts.version}`,
    };
    if (fixedIn) finding.fixedIn = fixedIn;
    findings.push(finding);
  }
  return findings;
}

export function compromiseFindings(info: InfoFields, facts: ServerFacts, options: FindingOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const master = facts.masterHost;
  if (facts.role === "replica" && master) {
    const allowed = options.allowedMasters?.has(master) ?? false;
    const isPrivate = isPrivateAddress(master);
    if (!allowed && !isPrivate) {
      const named = ipFamily(master) === null;
      findings.push({
        id: "ioc:rogue-master",
        kind: "compromise",
        severity: named ? "high" : "critical",
        title: named
          ? "Replica of a master known only by name, outside the allowed set"
          : "Replica of a public master outside the organization (rogue-master technique)",
        evidence: `master_host:${master}`,
      });
    }
  }
  for (const module of facts.modules ?? []) {
    const line = `module:name=${module.name}${module.path ? `,path=${module.path}` : ""}`;
    if (module.name === "system") {
      findings.push({
        id: "ioc:system-module",
        kind: "compromise",
        severity: "critical",
        title: 'A module named "system" (system.exec, system.rev) is loaded: a known attack payload',
        evidence: line,
      });
    } else if (module.path && TEMP_DIRECTORY.test(module.path)) {
      findings.push({
        id: "ioc:module-path",
        kind: "compromise",
        severity: "critical",
        title: "A module is loaded from a temporary directory",
        evidence: line,
      });
    }
  }
  const adminLines = ADMIN_COMMANDS.filter((command) => (info.commandCalls.get(command) ?? 0) > 0).map(
    (command) => `cmdstat_${command}:calls=${info.commandCalls.get(command)}`,
  );
  if (adminLines.length > 0) {
    findings.push({
      id: "ioc:admin-commands",
      kind: "compromise",
      severity: "high",
      title: "Administrative commands (replication, module load, config set or flushall) were run",
      evidence: adminLines.join(" "),
    });
  }
  const systemCommands = [...info.commandCalls].filter(
    ([command, calls]) => command.startsWith("system.") && calls > 0,
  );
  if (systemCommands.length > 0) {
    findings.push({
      id: "ioc:system-commands",
      kind: "compromise",
      severity: "critical",
      title: 'Commands of a module named "system" were called (system.exec, system.rev: the rogue-server payload)',
      evidence: systemCommands.map(([command, calls]) => `cmdstat_${command}:calls=${calls}`).join(" "),
    });
  }
  const attempts = TAKEOVER_ATTEMPTS.filter((command) => (info.commandFailures.get(command) ?? 0) > 0).map(
    (command) => `cmdstat_${command}:failed_or_rejected=${info.commandFailures.get(command)}`,
  );
  if (attempts.length > 0) {
    findings.push({
      id: "ioc:takeover-attempts",
      kind: "compromise",
      severity: "high",
      title: "Attempts to load a module, change replication or set configuration failed or were refused",
      evidence: attempts.join(" "),
    });
  }
  if (info.commandCalls.has("config|resetstat")) {
    findings.push({
      id: "ioc:stats-reset",
      kind: "compromise",
      severity: "medium",
      title: "Command statistics were wiped (CONFIG RESETSTAT): earlier traces in commandstats are gone",
      evidence: `cmdstat_config|resetstat:calls=${info.commandCalls.get("config|resetstat")}`,
      needsCorroboration: true,
    });
  }
  if (facts.executable && TEMP_DIRECTORY.test(facts.executable)) {
    // A stock server started by name from a directory under /tmp reports that path too: suspicious, not proof.
    findings.push({
      id: "ioc:tmp-executable",
      kind: "compromise",
      severity: "high",
      title: "The server runs from a temporary directory (a dropped binary, or a stock server started there)",
      evidence: `executable:${facts.executable}`,
      needsCorroboration: true,
    });
  }
  return findings;
}
