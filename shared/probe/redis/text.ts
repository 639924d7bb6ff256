// The Redis module's words for people: alert headlines, the server in a few words, report titles and the
// advice lines for each state and finding (docs/architecture.md, "Protocol modules"). Registered in
// shared/protocols/registry.ts; imports nothing of the probe but the module's own facts, so alerts and
// reports may use it.
import type { ProbeState, ProtocolFacts } from "../../exposure/model.ts";
import { oneLine, truncate } from "../../printable.ts";
import type { AdviceSubject, ProtocolText } from "../../protocols/text.ts";
import { compareVersions, parseVersion, REDIS, type ServerFacts, serverOf } from "./facts.ts";

/** Values from the probed server go into advice lines: one line, bounded. */
function quoted(text: string, max = 120): string {
  return truncate(oneLine(text), max);
}

/** States in which a Redis-like server itself answered, so its configuration is what to fix. */
const ANSWERED_STATES: ReadonlySet<ProbeState> = new Set([
  "open-unauthenticated",
  "protected-mode",
  "auth-required",
  "busy",
  "error",
]);

const BIND_LINE =
  "Bind Redis to private addresses only (`bind 127.0.0.1 <private-ip>` in redis.conf) so it never listens on a public interface.";

/** "Redis 7.2.4 standalone master", "Valkey 8.0.1 replica of 198.51.100.7:6379", or null. */
function describeServer(facts: ProtocolFacts): string | null {
  const server = serverOf(facts);
  if (!server) return null;
  const product = server.product === "unknown" ? "Redis-compatible" : server.product;
  const parts = [
    product.charAt(0).toUpperCase() + product.slice(1),
    server.version,
    server.mode,
    server.role === "replica" && server.masterHost
      ? `replica of ${server.masterHost}:${server.masterPort ?? 6379}`
      : server.role,
  ];
  return oneLine(parts.filter((part) => part).join(" "));
}

function stateLines({ current, port }: AdviceSubject): string[] {
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
    case "not-redis":
      return [
        `Something other than Redis answers on TCP ${port}: confirm it is meant to be public; if not, restrict it as above.`,
      ];
    default:
      return [];
  }
}

function compromiseLines({ findings, current }: AdviceSubject): string[] {
  const iocs = findings.filter((finding) => finding.kind === "compromise");
  if (iocs.length === 0) return [];
  // Indicators marked needsCorroboration (an executable under /tmp, wiped statistics) are suspicious alone.
  const conclusive = iocs.some((finding) => !finding.needsCorroboration);
  const lines = [
    conclusive
      ? "Treat the host as compromised: isolate it from the network, capture INFO, logs, the RDB/AOF files and any module files before changing anything, then rotate every credential stored in or reachable from it and rebuild from a clean image."
      : "Suspicious, not proof of compromise on its own: find out who started this server and how, and look for the other signs (unknown modules, a foreign master, administrative commands) before trusting it.",
  ];
  // Ids from findings.ts; an indicator without specific advice gets the general line only.
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

function cveLines({ findings, current }: AdviceSubject): string[] {
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

export const redisText: ProtocolText = {
  name: REDIS,
  label: "Redis",
  headlines: { "newly-unauthenticated": "Redis open without authentication" },
  exposureTitle: (exposure) =>
    exposure === "unauthenticated"
      ? "Redis answers without authentication from the internet"
      : "Redis port reachable from the internet",
  describeServer,
  firstSteps: compromiseLines,
  serverSteps: (subject) => [
    ...stateLines(subject),
    ...(ANSWERED_STATES.has(subject.current.state) ? [BIND_LINE] : []),
    ...cveLines(subject),
  ],
  resolvedSteps: ({ previous, findings }) =>
    previous?.exposure === "unauthenticated" || findings.some((finding) => finding.kind === "compromise")
      ? [
          "It was open without authentication while exposed: check the data and configuration for tampering (unknown keys, `replicaof`, modules, `CONFIG` dir) and rotate secrets stored in it.",
        ]
      : [],
};
