// What to do about an alert, as short imperative lines, most urgent first. The lines depend on
// the observed state, TLS, the findings and, when the cloud inventory knows it, the resource
// that owns the address, so the reader can act without looking anything up.

import type {
  AlertKind,
  Asset,
  EndpointSnapshot,
  ExposureLevel,
  ExposurePath,
  Finding,
  ProbeState,
} from "../exposure/model.ts";
import { closingSteps } from "../inventory/path/text.ts";
import { oneLine, truncate } from "../printable.ts";
import { compareVersions, parseVersion, type ServerFacts, serverOf } from "../probe/redis/facts.ts";

/** Who owns the address, in the words alerts and reports use. */
export interface OwnerRef {
  account: string;
  region: string;
  resourceType: string;
  resourceId: string;
  name: string | null;
  /** Owner tags found on the resource (configured keys such as `team`), when any. */
  owners?: Record<string, string>;
  /** The path from the internet on the port, as the inventory resolved it (docs/readme-path.md). */
  path?: ExposurePath;
}

export function ownerRef(asset: Asset | null | undefined): OwnerRef | null {
  if (!asset) return null;
  return {
    account: asset.accountId,
    region: asset.region,
    resourceType: asset.resourceType,
    resourceId: asset.resourceId,
    name: asset.name ?? null,
    ...(asset.owners && Object.keys(asset.owners).length > 0 ? { owners: { ...asset.owners } } : {}),
    ...(asset.path ? { path: asset.path } : {}),
  };
}

type AlertAsset = OwnerRef;

/** Values from the probed server (and tags) go into advice lines: one line, bounded. */
function quoted(text: string, max = 120): string {
  return truncate(oneLine(text), max);
}

export interface RemediationInput {
  kind: AlertKind;
  port: number;
  previous: ExposureLevel | null;
  current: EndpointSnapshot;
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

export function remediationFor(input: RemediationInput): string[] {
  const lines =
    input.kind === "resolved" || input.current.exposure === "none"
      ? resolvedLines(input)
      : [
          ...compromiseLines(input),
          ...anomalyLines(input),
          ...pathOrNetworkLines(input),
          ...stateLines(input),
          ...(REDIS_STATES.has(input.current.state) ? [BIND_LINE] : []),
          ...cveLines(input),
        ];
  return [...new Set(lines)];
}

const BIND_LINE =
  "Bind Redis to private addresses only (`bind 127.0.0.1 <private-ip>` in redis.conf) so it never listens on a public interface.";

/** Names the resource that owns the address, e.g. `network interface eni-0abc ("web-1") in account 1111/eu-west-1`. */
export function describeResource(asset: AlertAsset): string {
  const name = asset.name ? ` ("${quoted(asset.name)}")` : "";
  return `${resourceNoun(asset)} ${quoted(asset.resourceId)}${name} in account ${asset.account}/${asset.region}`;
}

const RESOURCE_NOUNS: Record<string, string> = {
  "ec2-instance": "EC2 instance",
  "network-interface": "network interface",
  "elastic-ip": "Elastic IP",
  "nat-gateway": "NAT gateway",
  "load-balancer": "load balancer",
  "global-accelerator": "Global Accelerator",
  "global-accelerator-endpoint": "Global Accelerator",
  "lightsail-instance": "Lightsail instance",
  "lightsail-static-ip": "Lightsail instance",
  elasticache: "ElastiCache cluster",
  rds: "RDS instance",
  "ecs-task": "ECS task",
  "eks-cluster": "EKS cluster",
  "vpc-endpoint": "VPC endpoint",
};

/** A readable noun for the inventory's resource types (shared/inventory), by id prefix when the type is new. */
function resourceNoun(asset: AlertAsset): string {
  const known = RESOURCE_NOUNS[asset.resourceType];
  if (known) return known;
  const id = asset.resourceId;
  if (asset.resourceType.toLowerCase().includes("lightsail")) return "Lightsail instance";
  if (id.startsWith("eni-")) return "network interface";
  if (id.startsWith("i-")) return "EC2 instance";
  if (id.startsWith("eipalloc-")) return "Elastic IP";
  return asset.resourceType;
}

/** Answers while the configuration says closed: say so first, the closing advice is then a guess. */
function anomalyLines({ asset, port }: RemediationInput): string[] {
  const path = asset?.path;
  if (path?.verdict !== "closed") return [];
  return [
    `Anomaly: TCP ${port} answers from the internet although the configuration says it cannot (${quoted(path.reason, 300)}). Find the path the inventory does not see (another interface or address, a proxy or port forward, a rule changed since it was read) before trusting the configuration.`,
  ];
}

/**
 * When the inventory resolved an open path: each rule to change with the command that does it (in the
 * owning account); otherwise the general advice for the resource type.
 */
function pathOrNetworkLines(input: RemediationInput): string[] {
  const { asset, port } = input;
  const steps = asset?.path ? closingSteps(asset.path, port, asset.region) : [];
  if (asset === null || steps.length === 0) return [networkLine(input)];
  return steps.map(
    (step) =>
      `${step.change} in account ${asset.account}${step.command ? `: \`${step.command}\`` : ""}${
        asset.path?.verdict === "open" && asset.path.scope === "restricted"
          ? " (it admits only some public sources)"
          : ""
      }.`,
  );
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
        serverOf(current.protocol)?.loading
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
  // Indicators marked needsCorroboration (an executable under /tmp, wiped statistics) are suspicious alone.
  const conclusive = iocs.some((finding) => !finding.needsCorroboration);
  const lines = [
    conclusive
      ? "Treat the host as compromised: isolate it from the network, capture INFO, logs, the RDB/AOF files and any module files before changing anything, then rotate every credential stored in or reachable from it and rebuild from a clean image."
      : "Suspicious, not proof of compromise on its own: find out who started this server and how, and look for the other signs (unknown modules, a foreign master, administrative commands) before trusting it.",
  ];
  // Ids from shared/exposure/findings.ts; an indicator without specific advice gets the general line only.
  const has = (...ids: string[]) => iocs.some((finding) => ids.includes(finding.id));
  const server = serverOf(current.protocol);
  if (has("ioc:rogue-master")) {
    const master = server?.masterHost
      ? ` ${quoted(server.masterHost)}:${server.masterPort ?? 6379}`
      : " an outside master";
    lines.push(
      `It replicates from${master}, which the organization does not own (rogue-master technique): after capturing evidence run \`REPLICAOF NO ONE\` and block outbound traffic to that address.`,
    );
  }
  if (has("ioc:system-module", "ioc:module-path")) {
    const names = quoted(server?.modules?.map((module) => module.name).join(", ") ?? "");
    lines.push(
      `Unknown modules are loaded${names ? ` (${names})` : ""}: keep the module files as evidence, look for commands such as \`system.exec\`, then \`MODULE UNLOAD\` them and remove their \`loadmodule\` lines.`,
    );
  }
  if (has("ioc:tmp-executable")) {
    lines.push(
      `The server runs from a temporary directory${server?.executable ? ` (${quoted(server.executable)})` : ""}: the binary may have been replaced; compare it with the packaged one.`,
    );
  }
  if (has("ioc:admin-commands")) {
    lines.push(
      "Administrative commands (replication, module load, config set or flushall) were run: check for cron entries, SSH authorized_keys and web shells written with `CONFIG SET dir`, and restore lost data from backup.",
    );
  }
  return lines;
}

function cveLines({ findings, current }: RemediationInput): string[] {
  const cves = findings.filter((finding) => finding.kind === "cve");
  if (cves.length === 0) return [];
  const server = serverOf(current.protocol);
  const version = server?.version ? quoted(server.version, 40) : null;
  const product = productLabel(server);
  const fixedIn = new Map<string, string>();
  const unfixed: string[] = [];
  for (const cve of cves) {
    if (cve.fixedIn) fixedIn.set(cve.id, cve.fixedIn);
    else unfixed.push(cve.id);
  }
  const lines: string[] = [];
  if (fixedIn.size > 0) {
    const target = [...fixedIn.values()].sort(byVersion).at(-1);
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

function byVersion(a: string, b: string): number {
  return compareVersions(parseVersion(a) ?? [], parseVersion(b) ?? []);
}
