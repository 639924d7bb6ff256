// What to do about an alert, as short imperative lines, most urgent first. The lines depend on
// the observed state, TLS, the findings and, when the cloud inventory knows it, the resource
// that owns the address, so the reader can act without looking anything up.
import type { AlertKind, Exposure, Finding, ProbeState, ServerFacts } from "../exposure/model.ts";
import type { AlertAsset } from "./alert.ts";

/**
 * The fixed release of `version`'s own line for a CVE, or null when that line has none.
 * The CVE table lives with the probe's findings; pass its lookup here rather than copy it.
 */
export type FixedVersionLookup = (cveId: string, version: string) => string | null;

export interface RemediationOptions {
  fixedVersion?: FixedVersionLookup;
}

export interface RemediationInput {
  kind: AlertKind;
  port: number;
  previous: { state: ProbeState; exposure: Exposure } | null;
  current: { state: ProbeState; exposure: Exposure; tls: boolean; server: ServerFacts | null };
  findings: readonly Finding[];
  asset: AlertAsset | null;
}

/** States in which a Redis-like server itself answered, so its configuration is what to fix. */
const REDIS_STATES: ReadonlySet<ProbeState> = new Set([
  "open-unauthenticated",
  "protected-mode",
  "auth-required",
  "busy",
  "error",
]);

export function remediationFor(input: RemediationInput, options: RemediationOptions = {}): string[] {
  const lines =
    input.kind === "resolved" || input.current.exposure === "none"
      ? resolvedLines(input)
      : [
          ...compromiseLines(input),
          networkLine(input),
          ...stateLines(input),
          ...(REDIS_STATES.has(input.current.state) ? [BIND_LINE] : []),
          ...cveLines(input, options),
        ];
  return [...new Set(lines)];
}

const BIND_LINE =
  "Bind Redis to private addresses only (`bind 127.0.0.1 <private-ip>` in redis.conf) so it never listens on a public interface.";

/** Names the resource that owns the address, e.g. `network interface eni-0abc ("web-1") in account 1111/eu-west-1`. */
export function describeResource(asset: AlertAsset): string {
  const name = asset.name ? ` ("${asset.name}")` : "";
  return `${resourceNoun(asset)} ${asset.resourceId}${name} in account ${asset.account}/${asset.region}`;
}

function resourceNoun(asset: AlertAsset): string {
  const type = asset.resourceType.toLowerCase();
  const id = asset.resourceId;
  if (type.includes("lightsail")) return "Lightsail instance";
  if (id.startsWith("eni-") || type.includes("interface") || type === "eni") return "network interface";
  if (id.startsWith("i-") || type.includes("instance")) return "EC2 instance";
  if (id.startsWith("eipalloc-") || type.includes("elastic-ip") || type.includes("eip")) return "Elastic IP";
  if (id.startsWith("nat-") || type.includes("nat")) return "NAT gateway";
  if (type.includes("load") || type.includes("elb")) return "load balancer";
  if (type.includes("accelerator")) return "Global Accelerator";
  return asset.resourceType;
}

function networkLine({ asset, port }: RemediationInput): string {
  if (!asset) {
    return `Restrict the firewall or security group in front of this address to known client addresses on TCP ${port}, or remove the public address.`;
  }
  const where = describeResource(asset);
  const noun = resourceNoun(asset);
  if (noun === "Lightsail instance") {
    return `Close TCP ${port} in the networking firewall of ${where}, or limit it to known client addresses.`;
  }
  if (noun === "Elastic IP") {
    return `Restrict the security groups of the interface behind ${where} to known client addresses on TCP ${port}; if nothing outside the VPC needs it, release the association.`;
  }
  if (noun === "load balancer" || noun === "Global Accelerator") {
    return `Remove the TCP ${port} listener from ${where}, or restrict its security groups to known client addresses.`;
  }
  return `Restrict the security groups of ${where} to known client addresses on TCP ${port}; if nothing outside the VPC needs it, remove the inbound rule or the public IP.`;
}

function stateLines({ current, port }: RemediationInput): string[] {
  switch (current.state) {
    case "open-unauthenticated":
      return [
        current.tls
          ? "TLS alone is not authentication: anyone who completes the handshake can read and write. Require ACL users (`user default off` plus named users) or `requirepass`, or client certificates (`tls-auth-clients yes`)."
          : "Require authentication now: define ACL users with long random passwords (`ACL SETUSER` or an aclfile) and disable the default user (`user default off`), or at least set `requirepass`.",
        "Turn protected mode back on (`protected-mode yes`): while no password is set it refuses clients from other networks.",
        "Assume anyone could read and write the data: check for unknown keys, changed `CONFIG` (dir, dbfilename), `replicaof` and loaded modules, and rotate secrets stored in Redis.",
      ];
    case "protected-mode":
      return [
        "Only protected mode stands between this server and the internet: it has no password, and one config change (a `bind` line or `protected-mode no`) opens it. Set ACL users or `requirepass` now.",
      ];
    case "auth-required":
      return current.tls
        ? [
            "Authentication and TLS are on, but the port is public: passwords can be guessed and pre-authentication bugs stay reachable. Keep it private and use long random ACL passwords.",
          ]
        : [
            "Authentication is on, but the port is public: passwords can be guessed and pre-authentication bugs stay reachable. Use long random ACL passwords.",
            "Enable TLS (`tls-port`, then `port 0`) so passwords do not cross the internet in clear text.",
          ];
    case "busy":
      return [
        current.server?.loading
          ? "The server is loading its dataset and answers anyone who connects: finish the network restriction before it is back in service."
          : "The server answered busy (maxclients reached, loading or a long-running script). If outside clients fill maxclients it may be abused or under attack: check `INFO clients` and `CLIENT LIST` from inside.",
      ];
    case "error":
      return [
        "A Redis-like server answered with an error before authentication (for example MASTERDOWN on a replica): check its logs and configuration; it is reachable from the internet either way.",
      ];
    case "dropped":
      return [
        `TCP ${port} accepts connections but nothing answers (an allow-list, a proxy, or a service that needs a client certificate): confirm what listens there and whether it must be public.`,
      ];
    case "not-redis":
      return [
        `Something other than Redis answers on TCP ${port}: confirm it is meant to be public; if not, restrict it as above.`,
      ];
    default:
      return [];
  }
}

function resolvedLines({ previous, port, findings }: RemediationInput): string[] {
  const lines = [
    `No network action needed: TCP ${port} no longer answers from the internet (two consecutive observations). Keep the rule or change that closed it.`,
  ];
  if (previous?.exposure === "unauthenticated" || findings.some((finding) => finding.kind === "compromise")) {
    lines.push(
      "It was open without authentication while exposed: check the data and configuration for tampering (unknown keys, `replicaof`, modules, `CONFIG` dir) and rotate secrets stored in it.",
    );
  }
  return lines;
}

function compromiseLines({ findings, current }: RemediationInput): string[] {
  const iocs = findings.filter((finding) => finding.kind === "compromise");
  if (iocs.length === 0) return [];
  const lines = [
    "Treat the host as compromised: isolate it from the network, capture INFO, logs, the RDB/AOF files and any module files before changing anything, then rotate every credential stored in or reachable from it and rebuild from a clean image.",
  ];
  const text = (finding: Finding) => `${finding.id} ${finding.title} ${finding.evidence}`.toLowerCase();
  const server = current.server;
  if (iocs.some((finding) => /master|replica|slaveof/.test(text(finding)))) {
    const master = server?.masterHost ? ` ${server.masterHost}:${server.masterPort ?? 6379}` : " an outside master";
    lines.push(
      `It replicates from${master}, which the organization does not own (rogue-master technique): after capturing evidence run \`REPLICAOF NO ONE\` and block outbound traffic to that address.`,
    );
  }
  if (iocs.some((finding) => /module/.test(text(finding)))) {
    const names = server?.modules?.map((module) => module.name).join(", ");
    lines.push(
      `Unknown modules are loaded${names ? ` (${names})` : ""}: keep the module file as evidence, look for commands such as \`system.exec\`, then \`MODULE UNLOAD\` and remove \`loadmodule\` lines.`,
    );
  }
  if (iocs.some((finding) => /executable|\/tmp|\/dev\/shm/.test(text(finding)))) {
    lines.push(
      `The server runs from a temporary directory${server?.executable ? ` (${server.executable})` : ""}: the binary may have been replaced; compare it with the packaged one.`,
    );
  }
  if (iocs.some((finding) => /commandstats|config\|set|flushall/.test(text(finding)))) {
    lines.push(
      "Administrative commands were run from outside: check for cron entries, SSH authorized_keys and web shells written with `CONFIG SET dir`.",
    );
  }
  return lines;
}

function cveLines({ findings, current }: RemediationInput, options: RemediationOptions): string[] {
  const cves = findings.filter((finding) => finding.kind === "cve");
  if (cves.length === 0) return [];
  const version = current.server?.version ?? null;
  const product = productLabel(current.server);
  const fixedIn = new Map<string, string>();
  const unfixed: string[] = [];
  for (const cve of cves) {
    const fixed = (version && options.fixedVersion?.(cve.id, version)) || fixedVersionFromText(cve);
    if (fixed) fixedIn.set(cve.id, fixed);
    else unfixed.push(cve.id);
  }
  const lines: string[] = [];
  if (fixedIn.size > 0) {
    const target = [...fixedIn.values()].sort(compareVersions).at(-1);
    lines.push(
      `Upgrade ${product}${version ? ` ${version}` : ""} to ${target} or later (fixes ${[...fixedIn.keys()].join(", ")}).`,
    );
  }
  if (unfixed.length > 0) {
    const line = version ? ` in the ${version.split(".").slice(0, 2).join(".")} line` : "";
    lines.push(
      `No fixed release${line} is known for ${unfixed.join(", ")}: move to a supported release line that fixes it, and until then keep the port private.`,
    );
  }
  return lines;
}

function productLabel(server: ServerFacts | null): string {
  switch (server?.product) {
    case "valkey":
      return "Valkey";
    case "dragonfly":
      return "Dragonfly";
    case "keydb":
      return "KeyDB";
    default:
      return "Redis";
  }
}

/** A finding may say "fixed in 7.2.11" in its title or evidence; use that when no lookup is given. */
export function fixedVersionFromText(finding: Finding): string | null {
  const match = /fixed in (?:version )?v?(\d+\.\d+(?:\.\d+)?)/i.exec(`${finding.title} ${finding.evidence}`);
  return match?.[1] ?? null;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}
