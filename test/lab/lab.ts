// The whole probe lab: namespaces, real Redis servers in every state, hostile peers, firewall
// rules. Every case gets its own 203.0.113.N address on port 6379 in the target namespace.
import { type ChildProcess, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LabUnavailableError, NetnsLab } from "./netns.ts";
import { REDIS_PORT, REDIS_SERVER, startRedis, tlsOnlyConfig } from "./redis.ts";
import { makeTlsMaterial, type TlsMaterial } from "./tls.ts";

const LAB_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(LAB_DIR, "..", "..");

/** Real redis-server processes, one per state. */
export const REDIS_CASES = {
  open: "203.0.113.10",
  requirepass: "203.0.113.11",
  "acl-default-off": "203.0.113.12",
  "protected-mode": "203.0.113.13",
  "tls-open": "203.0.113.14",
  "tls-password": "203.0.113.15",
  "tls-client-cert": "203.0.113.16",
  maxclients: "203.0.113.17",
  "rogue-replica": "203.0.113.18",
  "stale-replica": "203.0.113.21",
  "tmp-executable": "203.0.113.22",
  sentinel: "203.0.113.23",
  // PONG without a password, then INFO refused: still open (docs/readme-probe.md, "What an answer proves").
  "acl-nopass-nodangerous": "203.0.113.24",
  "info-renamed": "203.0.113.25",
  // A replica of a 70,000-character host name: INFO is ~75 KB, over the 64 KiB byte cap.
  "info-over-cap": "203.0.113.26",
  // TLS 1.2 only, client certificates required: the demand shows as a handshake_failure alert.
  "tls12-client-cert": "203.0.113.27",
} as const;

/** Addresses shaped by the network alone. */
export const NETWORK_CASES = {
  closed: "203.0.113.19", // address up, nothing listening: the kernel resets
  filtered: "203.0.113.20", // iptables DROP inside the target namespace
  // A filter that answers with ICMP unreachable: the far side speaking, not the prober failing.
  "icmp-net-unreachable": "203.0.113.28",
  "icmp-host-unreachable": "203.0.113.29",
} as const;

/** Hostile or replayed peers, all played by one hostile-peer.ts process (behaviour name = case name). */
export const PEER_CASES = {
  http: "203.0.113.30",
  ssh: "203.0.113.31",
  "accept-close": "203.0.113.32",
  "accept-reset": "203.0.113.33",
  hang: "203.0.113.34",
  drip: "203.0.113.35",
  endless: "203.0.113.36",
  "huge-bulk": "203.0.113.37",
  garbage: "203.0.113.38",
  "huge-array": "203.0.113.39",
  loading: "203.0.113.40",
  "loading-info": "203.0.113.41",
  "busy-script": "203.0.113.42",
  "busy-module": "203.0.113.43",
  "old-auth": "203.0.113.44",
  "invalid-password": "203.0.113.45",
  wrongpass: "203.0.113.46",
  "denied-old": "203.0.113.47",
  masterdown: "203.0.113.48",
  "maxclients-replay": "203.0.113.49",
  "maxclients-cluster": "203.0.113.50",
  "other-error": "203.0.113.51",
  valkey: "203.0.113.52",
  compromised: "203.0.113.53",
  attempted: "203.0.113.54",
  keydb: "203.0.113.55",
  dragonfly: "203.0.113.56",
  escapes: "203.0.113.58",
} as const;

/** A slow path: a relay in the target namespace that holds the server's bytes back (delay-proxy.ts). */
export const SLOW_CASES = {
  // The TLS-only open Redis (tls-open) behind a handshake that takes SLOW_TLS_DELAY_MS and more.
  "tls-slow-handshake": "203.0.113.57",
} as const;

/** The delay of the slow path: longer than the engine's short connect timeouts, shorter than its ceiling. */
export const SLOW_TLS_DELAY_MS = 250;

export type LabCase =
  | keyof typeof REDIS_CASES
  | keyof typeof NETWORK_CASES
  | keyof typeof PEER_CASES
  | keyof typeof SLOW_CASES;

export const LAB_CASES: Record<LabCase, string> = {
  ...REDIS_CASES,
  ...NETWORK_CASES,
  ...PEER_CASES,
  ...SLOW_CASES,
};

/** The outside master the rogue replica points at: public, and unreachable (no route out of xt). */
export const ROGUE_MASTER = "203.0.113.250";

/** The master host name that makes INFO larger than the probe's byte cap (it cannot resolve: no DNS in xt). */
export const LONG_MASTER_HOST = `${"x".repeat(70_000)}.lab.test`;

export interface ProbeLab {
  net: NetnsLab;
  tls: TlsMaterial;
  /** "ip:6379" per case. */
  targets: Record<LabCase, string>;
  teardown(): Promise<void>;
}

/** Starts a helper script under Node inside the target namespace and waits for its ready line. */
async function startNodeHelper(
  net: NetnsLab,
  script: string,
  args: string[],
  readyLine: string,
): Promise<ChildProcess> {
  const child = net.spawnIn(net.targetNs, process.execPath, [join(LAB_DIR, script), ...args]);
  const stderr: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${script} not ready after 30 s: ${stderr.join("")}`)), 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.split("\n").includes(readyLine)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before it was ready: ${stderr.join("").trim()}`));
    });
  });
  return child;
}

async function startRedisCases(net: NetnsLab, tls: TlsMaterial): Promise<void> {
  const c = REDIS_CASES;
  const tlsOpen = tlsOnlyConfig(tls.selfSigned, tls.selfSigned.cert, false);
  const tlsSigned = tlsOnlyConfig(tls.server, tls.caCert, false);
  const tlsMutual = tlsOnlyConfig(tls.server, tls.caCert, true);
  // Runs a copy of redis-server from the lab's /tmp directory: INFO then reports `executable:/tmp/...`.
  const tmpExecutable = join(net.workDir, "bin", "redis-server");
  mkdirSync(dirname(tmpExecutable), { recursive: true });
  copyFileSync(REDIS_SERVER, tmpExecutable);

  await Promise.all([
    startRedis(net, "open", c.open, []),
    startRedis(net, "requirepass", c.requirepass, ["requirepass lab-secret-1"]),
    startRedis(net, "acl-default-off", c["acl-default-off"], [
      "user default off",
      "user app on >lab-secret-2 ~* +@all",
    ]),
    startRedis(net, "protected-mode", c["protected-mode"], ["protected-mode yes"]),
    startRedis(net, "tls-open", c["tls-open"], tlsOpen),
    startRedis(net, "tls-password", c["tls-password"], [...tlsSigned, "requirepass lab-secret-3"]),
    startRedis(net, "tls-client-cert", c["tls-client-cert"], tlsMutual),
    startRedis(net, "maxclients", c.maxclients, ["maxclients 1"]),
    // No route out of the target namespace: the replica's connection attempts fail locally.
    startRedis(net, "rogue-replica", c["rogue-replica"], [`replicaof ${ROGUE_MASTER} 6379`]),
    startRedis(net, "stale-replica", c["stale-replica"], [
      `replicaof ${ROGUE_MASTER} 6379`,
      "replica-serve-stale-data no",
    ]),
    startRedis(net, "tmp-executable", c["tmp-executable"], [], { executable: tmpExecutable }),
    startRedis(net, "sentinel", c.sentinel, [], { sentinel: true }),
    // Anyone may SET and GET; INFO is in @dangerous, so it answers -NOPERM.
    startRedis(net, "acl-nopass-nodangerous", c["acl-nopass-nodangerous"], [
      "user default on nopass ~* &* +@all -@dangerous",
    ]),
    startRedis(net, "info-renamed", c["info-renamed"], ['rename-command INFO ""']),
    startRedis(net, "info-over-cap", c["info-over-cap"], []),
    startRedis(net, "tls12-client-cert", c["tls12-client-cert"], [...tlsMutual, 'tls-protocols "TLSv1.2"']),
  ]);
  // A config line is read into a 1 KB buffer: the long master host goes in at run time.
  const replicaof = await net.exec(net.targetNs, "redis-cli", [
    "-h",
    c["info-over-cap"],
    "REPLICAOF",
    LONG_MASTER_HOST,
    "6379",
  ]);
  if (replicaof.code !== 0 || !/^OK/.test(replicaof.stdout)) {
    throw new Error(`redis-cli REPLICAOF <long host> failed: ${replicaof.stdout}${replicaof.stderr}`);
  }
  // Fill the only client slot from inside the target namespace.
  await startNodeHelper(net, "hold-connection.ts", [c.maxclients, String(REDIS_PORT)], "held");
  // Leave traces of administrative commands in commandstats, as an attacker would (harmless ones).
  for (const command of [["CONFIG", "SET", "maxmemory", "0"], ["SLAVEOF", "NO", "ONE"], ["FLUSHALL"]]) {
    const result = await net.exec(net.targetNs, "redis-cli", ["-h", c["tmp-executable"], ...command]);
    if (result.code !== 0 || !/^OK/.test(result.stdout)) {
      throw new Error(`redis-cli ${command.join(" ")} failed: ${result.stdout}${result.stderr}`);
    }
  }
}

/** Builds the lab; on failure removes whatever was made and rethrows (never a silent skip). */
export async function startProbeLab(): Promise<ProbeLab> {
  assertTools();
  const net = await NetnsLab.create();
  try {
    const tls = await makeTlsMaterial(net.workDir);
    for (const ip of Object.values(LAB_CASES)) await net.addTargetHost(ip);
    await net.targetFirewall([
      "-A",
      "INPUT",
      "-d",
      NETWORK_CASES.filtered,
      "-p",
      "tcp",
      "--dport",
      "6379",
      "-j",
      "DROP",
    ]);
    for (const [name, kind] of [
      ["icmp-net-unreachable", "icmp-net-unreachable"],
      ["icmp-host-unreachable", "icmp-host-unreachable"],
    ] as const) {
      const ip = NETWORK_CASES[name];
      await net.targetFirewall([
        "-A",
        "INPUT",
        "-d",
        ip,
        "-p",
        "tcp",
        "--dport",
        "6379",
        "-j",
        "REJECT",
        "--reject-with",
        kind,
      ]);
    }
    const peerConfig = Object.fromEntries(
      Object.entries(PEER_CASES).map(([name, ip]) => [`${ip}:${REDIS_PORT}`, name]),
    );
    await Promise.all([
      startRedisCases(net, tls),
      startNodeHelper(net, "hostile-peer.ts", [JSON.stringify(peerConfig)], "ready"),
    ]);
    await startNodeHelper(
      net,
      "delay-proxy.ts",
      [
        `${SLOW_CASES["tls-slow-handshake"]}:${REDIS_PORT}`,
        `${REDIS_CASES["tls-open"]}:${REDIS_PORT}`,
        String(SLOW_TLS_DELAY_MS),
      ],
      "ready",
    );
    const targets = Object.fromEntries(
      Object.entries(LAB_CASES).map(([name, ip]) => [name, `${ip}:${REDIS_PORT}`]),
    ) as Record<LabCase, string>;
    return { net, tls, targets, teardown: () => net.teardown() };
  } catch (error) {
    await net.teardown();
    throw error;
  }
}

function assertTools(): void {
  for (const tool of [REDIS_SERVER, "redis-cli", "openssl", "ip", "iptables", "setpriv"]) {
    try {
      execFileSync("sh", ["-c", `command -v "$0"`, tool], { stdio: "ignore" });
    } catch {
      throw new LabUnavailableError(
        `the probe lab needs ${tool} (Debian: redis-server, redis-tools, openssl, iproute2, iptables, util-linux)`,
      );
    }
  }
}
