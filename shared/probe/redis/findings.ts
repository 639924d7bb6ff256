// Findings: known critical CVEs by version, and signs of compromise visible in INFO (read-only).
// See redis-probe.md, "Signs of compromise visible in INFO" and "Known critical CVEs by fixed version".

import type { Finding, ServerFacts } from "../../exposure/model.ts";
import { type AddressSet, ipFamily, isPrivateAddress } from "../../net/ip.ts";
import { isAffected, type KnownCve, REDIS_CVES } from "./cves.ts";
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

export function cveFindings(facts: ServerFacts, cves: KnownCve[] = REDIS_CVES): Finding[] {
  // The CVE table is Redis's; Valkey, Dragonfly and KeyDB number their releases differently.
  if (facts.product !== "redis" || !facts.version) return [];
  const findings: Finding[] = [];
  for (const cve of cves) {
    const { affected, fixedIn } = isAffected(facts.version, cve);
    if (!affected) continue;
    const finding: Finding = {
      id: cve.id,
      kind: "cve",
      severity: cve.severity,
      title: cve.title,
      evidence: `redis_version:${facts.version}`,
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
  if (facts.executable && TEMP_DIRECTORY.test(facts.executable)) {
    findings.push({
      id: "ioc:tmp-executable",
      kind: "compromise",
      severity: "critical",
      title: "The server runs from a temporary directory",
      evidence: `executable:${facts.executable}`,
    });
  }
  return findings;
}
