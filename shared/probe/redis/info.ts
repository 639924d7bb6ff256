// Reads the text of an INFO reply into the few server facts the monitor keeps.
// The raw text, client lists and keyspace details are never kept: only what `ServerFacts` names.

import { printable } from "../../printable.ts";
import type { LoadedModule, Product, ServerFacts } from "./facts.ts";

/** Longest text kept from one INFO value: a 70,000-character master_host is the peer's, not ours to store. */
const MAX_FACT_LENGTH = 256;
const fact = (value: string) => printable(value, MAX_FACT_LENGTH);

/** INFO as key/value lines, transient: used to derive facts and findings, then dropped. */
export interface InfoFields {
  fields: Map<string, string>;
  modules: LoadedModule[];
  /** `cmdstat_<command>` -> calls, from `INFO commandstats`. */
  commandCalls: Map<string, number>;
  /** `cmdstat_<command>` -> failed_calls + rejected_calls (Redis 6.2+): attempts that did not go through. */
  commandFailures: Map<string, number>;
}

/** Parses INFO (any sections, including commandstats and modules). Unknown lines are ignored. */
export function parseInfo(text: string): InfoFields {
  const fields = new Map<string, string>();
  const modules: LoadedModule[] = [];
  const commandCalls = new Map<string, number>();
  const commandFailures = new Map<string, number>();
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trimEnd();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (key === "module") {
      const attributes = Object.fromEntries(value.split(",").map((pair) => pair.split("=") as [string, string]));
      if (attributes.name) {
        const module: LoadedModule = { name: attributes.name };
        if (attributes.ver) module.version = attributes.ver;
        if (attributes.path) module.path = attributes.path;
        modules.push(module);
      }
    } else if (key.startsWith("cmdstat_")) {
      // "calls=2,usec=120,usec_per_call=60.00,rejected_calls=0,failed_calls=1"
      const counts = new Map(value.split(",").map((pair) => pair.split("=", 2) as [string, string]));
      const count = (name: string) => {
        const n = Number(counts.get(name) ?? 0);
        return Number.isFinite(n) ? n : 0;
      };
      const command = key.slice("cmdstat_".length);
      commandCalls.set(command, count("calls"));
      const failures = count("failed_calls") + count("rejected_calls");
      if (failures > 0) commandFailures.set(command, failures);
    } else if (!fields.has(key)) {
      fields.set(key, value);
    }
  }
  return { fields, modules, commandCalls, commandFailures };
}

/** True when the text is an INFO reply of a Redis-compatible server. */
export function isInfoText(text: string): boolean {
  return /(^|\n)(redis|valkey|dragonfly)_version:/.test(text);
}

/**
 * The product first, from its own fields: Valkey prints a fixed `redis_version:7.2.4` for compatibility
 * before `server_name:valkey` and `valkey_version`, Dragonfly adds `dragonfly_version`, KeyDB adds fields of
 * its own (docs/readme-probe.md, "Product and version").
 */
function productOf(fields: Map<string, string>): Product {
  if (fields.has("valkey_version") || fields.get("server_name") === "valkey") return "valkey";
  if (fields.has("dragonfly_version")) return "dragonfly";
  // KeyDB reports Redis fields; its executable, config file or its own fields give it away.
  const keydbHints = [fields.get("executable"), fields.get("config_file")].some((value) => /keydb/i.test(value ?? ""));
  if (keydbHints || fields.has("mvcc_depth") || fields.has("storage_provider")) return "keydb";
  if (fields.has("redis_version")) return "redis";
  return "unknown";
}

export function serverFactsOf(info: InfoFields): ServerFacts {
  const { fields } = info;
  const product = productOf(fields);
  // Then the version, from the product's own field; Valkey before 8 (7.2.x) had only redis_version.
  const versionText =
    (product === "valkey" && fields.get("valkey_version")) ||
    (product === "dragonfly" && fields.get("dragonfly_version")) ||
    fields.get("redis_version") ||
    null;
  const version = versionText === null ? null : fact(versionText);
  const modeText = fields.get("redis_mode") ?? fields.get("server_mode");
  const mode = modeText === "cluster" || modeText === "sentinel" || modeText === "standalone" ? modeText : null;
  const roleText = fields.get("role");
  const role = roleText === "master" ? "master" : roleText === "slave" || roleText === "replica" ? "replica" : null;
  const facts: ServerFacts = { product, version, mode, role };
  if (role === "replica") {
    const masterHost = fields.get("master_host");
    if (masterHost) facts.masterHost = fact(masterHost);
    const masterPort = Number(fields.get("master_port"));
    if (Number.isInteger(masterPort) && masterPort > 0) facts.masterPort = masterPort;
    const link = fields.get("master_link_status");
    if (link === "up" || link === "down") facts.masterLinkStatus = link;
  }
  const os = fields.get("os");
  if (os) facts.os = fact(os);
  const uptime = Number(fields.get("uptime_in_seconds"));
  if (fields.has("uptime_in_seconds") && Number.isFinite(uptime)) facts.uptimeSeconds = uptime;
  const executable = fields.get("executable");
  if (executable) facts.executable = fact(executable);
  if (fields.get("loading") === "1") facts.loading = true;
  if (info.modules.length > 0) {
    facts.modules = info.modules.slice(0, 32).map((module) => ({
      name: fact(module.name),
      ...(module.version !== undefined ? { version: fact(module.version) } : {}),
      ...(module.path !== undefined ? { path: fact(module.path) } : {}),
    }));
  }
  return facts;
}
