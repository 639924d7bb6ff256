// `exposure probe` against the real lab (test/lab/): real redis-server processes in every state,
// hostile peers and firewall rules inside a target namespace, the CLI run from a scanner
// namespace of its own. Needs root; without it the lab throws and this file fails (never skips).
import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Finding, ProbeResult } from "../../shared/exposure/model.ts";
import { DEFAULT_ADAPTIVE_OPTIONS } from "../../shared/probe/adaptive.ts";
import type { ServerFacts } from "../../shared/probe/redis/facts.ts";
import {
  LAB_CASES,
  type LabCase,
  NETWORK_CASES,
  type ProbeLab,
  REDIS_CASES,
  REPO_ROOT,
  ROGUE_MASTER,
  SLOW_TLS_DELAY_MS,
  startProbeLab,
} from "../lab/lab.ts";
import type { CommandResult } from "../lab/netns.ts";

const CONNECT_TIMEOUT_MS = 1_500;
const DEADLINE_MS = 4_000;
/** Slack for a loaded 2-core CI machine on top of the probe's own deadline. */
const MARGIN_MS = 2_000;

interface Expected {
  state: ProbeResult["state"];
  exposure: ProbeResult["exposure"];
  tls?: boolean;
  /** The first reply starts with this. */
  reply?: string;
  server?: Partial<ServerFacts>;
  /** Exactly these compromise indicators (ioc:*); [] when none is given. */
  compromise?: string[];
  /** At least these CVE ids. */
  cves?: string[];
  certificate?: { subject: string; issuer: string; selfSigned: boolean };
  /** No CVE finding at all (a product without a table). */
  noCves?: boolean;
  /** Every CVE finding cites this INFO line. */
  cveEvidence?: string;
  /** Open, but INFO gave nothing: no server facts. */
  noFacts?: boolean;
}

const REDIS_7_0_15: Partial<ServerFacts> = { product: "redis", version: "7.0.15", mode: "standalone" };
const DENIED_7 =
  "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user";
const DENIED_OLD =
  "-DENIED Redis is running in protected mode because protected mode is enabled, no bind address was specified";
const SELF_SIGNED = { subject: "redis-selfsigned.lab.test", issuer: "redis-selfsigned.lab.test", selfSigned: true };
const CA_SIGNED = { subject: "redis-tls.lab.test", issuer: "Exposure Lab CA", selfSigned: false };

const EXPECTED: Record<LabCase, Expected> = {
  // Real redis-server 7.0.15 processes.
  open: {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: false,
    reply: "+PONG",
    server: { ...REDIS_7_0_15, role: "master" },
    cves: ["CVE-2025-49844"],
  },
  requirepass: { state: "auth-required", exposure: "reachable", tls: false, reply: "-NOAUTH" },
  "acl-default-off": { state: "auth-required", exposure: "reachable", tls: false, reply: "-NOAUTH" },
  "protected-mode": { state: "protected-mode", exposure: "reachable", tls: false, reply: DENIED_7 },
  "tls-open": {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: true,
    reply: "+PONG",
    server: { ...REDIS_7_0_15, role: "master" },
    cves: ["CVE-2025-49844"],
    certificate: SELF_SIGNED,
  },
  "tls-password": {
    state: "auth-required",
    exposure: "reachable",
    tls: true,
    reply: "-NOAUTH",
    certificate: CA_SIGNED,
  },
  "tls-client-cert": { state: "auth-required", exposure: "reachable", tls: true, certificate: CA_SIGNED },
  maxclients: { state: "busy", exposure: "reachable", tls: false, reply: "-ERR max number of clients reached" },
  "rogue-replica": {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: false,
    reply: "+PONG",
    server: { ...REDIS_7_0_15, role: "replica", masterHost: ROGUE_MASTER, masterLinkStatus: "down" },
    compromise: ["ioc:rogue-master"],
    cves: ["CVE-2025-49844"],
  },
  // PING is refused while the master link is down, but INFO (a "stale" command) still answers.
  "stale-replica": {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: false,
    reply: "-MASTERDOWN",
    server: { ...REDIS_7_0_15, role: "replica", masterHost: ROGUE_MASTER, masterLinkStatus: "down" },
    compromise: ["ioc:rogue-master"],
  },
  // A copy of redis-server run from /tmp, after CONFIG SET, SLAVEOF and FLUSHALL were sent to it.
  "tmp-executable": {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: false,
    server: { ...REDIS_7_0_15, role: "master" },
    compromise: ["ioc:admin-commands", "ioc:tmp-executable"],
  },
  sentinel: {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: false,
    server: { product: "redis", version: "7.0.15", mode: "sentinel" },
  },
  // The network alone.
  closed: { state: "closed", exposure: "none", tls: false },
  filtered: { state: "filtered", exposure: "none", tls: false },
  // Hostile peers: something else listens.
  http: { state: "not-redis", exposure: "reachable", tls: false, reply: "HTTP/1.1 400" },
  ssh: { state: "not-redis", exposure: "reachable", tls: false, reply: "SSH-2.0-OpenSSH" },
  "accept-close": { state: "dropped", exposure: "reachable", tls: false },
  // Accepted, then reset before a byte: a listener is there (not "closed"), and TLS fails too.
  "accept-reset": { state: "dropped", exposure: "reachable", tls: false },
  hang: { state: "dropped", exposure: "reachable", tls: false },
  // RESP-looking bytes that never complete a reply before the deadline or the byte cap.
  drip: { state: "not-redis", exposure: "reachable", tls: false, reply: "+P" },
  endless: { state: "not-redis", exposure: "reachable", tls: false, reply: "+AAAA" },
  "huge-bulk": { state: "not-redis", exposure: "reachable", tls: false, reply: "$999999999" },
  "huge-array": { state: "not-redis", exposure: "reachable", tls: false, reply: "*2147483647" },
  garbage: { state: "not-redis", exposure: "reachable", tls: false },
  // Replays of Redis replies a real 7.0.15 cannot be made to give here.
  loading: { state: "busy", exposure: "reachable", reply: "-LOADING" },
  "loading-info": {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    reply: "-LOADING",
    server: { ...REDIS_7_0_15, loading: true },
  },
  "busy-script": { state: "busy", exposure: "reachable", reply: "-BUSY Redis is busy running a script" },
  "busy-module": { state: "busy", exposure: "reachable", reply: "-BUSY Redis is busy running a module command" },
  "old-auth": { state: "auth-required", exposure: "reachable", reply: "-ERR operation not permitted" },
  "invalid-password": { state: "auth-required", exposure: "reachable", reply: "-ERR invalid password" },
  wrongpass: { state: "auth-required", exposure: "reachable", reply: "-WRONGPASS" },
  "denied-old": { state: "protected-mode", exposure: "reachable", reply: DENIED_OLD },
  masterdown: { state: "error", exposure: "reachable", reply: "-MASTERDOWN Link with MASTER is down" },
  "maxclients-replay": { state: "busy", exposure: "reachable", reply: "-ERR max number of clients reached" },
  "maxclients-cluster": { state: "busy", exposure: "reachable", reply: "-ERR max number of clients + cluster" },
  "other-error": { state: "error", exposure: "reachable", reply: "-ERR unknown subcommand" },
  // Valkey prints redis_version:7.2.4 for compatibility; its CVEs follow valkey_version.
  valkey: {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    server: { product: "valkey", version: "8.0.1", mode: "standalone", role: "master" },
    cves: ["CVE-2025-49844", "CVE-2025-67733"],
    cveEvidence: "valkey_version:8.0.1",
  },
  compromised: {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    server: { ...REDIS_7_0_15, executable: "/tmp/kinsing/redis-server" },
    compromise: ["ioc:admin-commands", "ioc:system-commands", "ioc:system-module", "ioc:tmp-executable"],
  },
  attempted: {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    server: REDIS_7_0_15,
    compromise: ["ioc:stats-reset", "ioc:takeover-attempts"],
  },
  keydb: {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    server: { product: "keydb", version: "6.3.4" },
    cves: ["CVE-2025-49844"],
  },
  // Escape sequences in INFO values are stripped before anything keeps or prints them.
  escapes: {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    server: { ...REDIS_7_0_15, os: "Linux]0;owned 6.1.0[2J", executable: "/usr/bin/redis-server31m" },
  },
  // No CVE table for Dragonfly: no version-based finding.
  dragonfly: {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    server: { product: "dragonfly", version: "df-v1.25.4" },
    cves: [],
    noCves: true,
  },
  // Real redis-server 7.0.15: PONG without a password proves open access, whatever INFO says next.
  "acl-nopass-nodangerous": {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: false,
    reply: "+PONG (INFO refused: -NOPERM",
    noFacts: true,
  },
  "info-renamed": {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: false,
    reply: "+PONG (INFO refused: -ERR unknown command",
    noFacts: true,
  },
  "info-over-cap": {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: false,
    reply: "+PONG (INFO cut at the byte cap",
    // The Server section fits; the replication lines after the 70,000-character master_host do not.
    server: { ...REDIS_7_0_15, role: "replica" },
    cves: ["CVE-2025-49844"],
  },
  // The TLS retry's handshake takes 250 ms and more: it gets the long timeout, never the short one.
  "tls-slow-handshake": {
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: true,
    reply: "+PONG",
    server: { ...REDIS_7_0_15, role: "master" },
    cves: ["CVE-2025-49844"],
    certificate: SELF_SIGNED,
  },
  "tls12-client-cert": { state: "auth-required", exposure: "reachable", tls: true, certificate: CA_SIGNED },
  // The engine's retries may be met by the kernel's ICMP rate limit (silence): filtered either way,
  // never a probe error, since this machine has a route there.
  "icmp-net-unreachable": { state: "filtered", exposure: "none", tls: false },
  "icmp-host-unreachable": { state: "filtered", exposure: "none", tls: false },
};

/** The INFO line each compromise indicator must cite as evidence. */
const EVIDENCE: Record<string, RegExp> = {
  "ioc:rogue-master": /master_host:203\.0\.113\.250/,
  "ioc:tmp-executable": /executable:\/tmp\//,
  "ioc:system-module": /system/,
  "ioc:system-commands": /cmdstat_system\.exec:calls=12/,
  "ioc:stats-reset": /cmdstat_config\|resetstat/,
  "ioc:takeover-attempts": /cmdstat_module\|load:failed_or_rejected=1 cmdstat_replicaof:failed_or_rejected=2/,
  "ioc:admin-commands": /cmdstat_(slaveof|replicaof|config\|set|module\|load|flushall)/,
};

const HOSTILE: LabCase[] = [
  "hang",
  "drip",
  "endless",
  "huge-bulk",
  "huge-array",
  "garbage",
  "accept-close",
  "accept-reset",
];

let lab: ProbeLab;
let labError: unknown;

/** Runs the exposure CLI inside the scanner namespace (the only place probes may come from). */
function exposure(args: string[], preload = false): Promise<CommandResult> {
  const nodeArgs = preload ? ["--import", join(REPO_ROOT, "test/lab/report-max-rss.ts")] : [];
  return lab.net.exec(lab.net.scannerNs, process.execPath, [...nodeArgs, join(REPO_ROOT, "cli/exposure.ts"), ...args], {
    timeoutMs: 60_000,
    cwd: REPO_ROOT,
  });
}

/** The same under a file-descriptor limit (prlimit), as on a laptop with a low `ulimit -n`. */
function exposureWithFiles(files: number, args: string[]): Promise<CommandResult> {
  return lab.net.exec(
    lab.net.scannerNs,
    "prlimit",
    [`--nofile=${files}:${files}`, process.execPath, join(REPO_ROOT, "cli/exposure.ts"), ...args],
    { timeoutMs: 60_000, cwd: REPO_ROOT },
  );
}

/** An address the scanner namespace has no route to: it has no IPv6 address or route at all. */
const IPV6_TARGET = "[2001:db8::10]:6379";

function parseLines(stdout: string): ProbeResult[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as ProbeResult);
}

async function connectionsReceived(host: string): Promise<number> {
  const result = await lab.net.exec(lab.net.targetNs, "redis-cli", ["-h", host, "INFO", "stats"]);
  const match = /total_connections_received:(\d+)/.exec(result.stdout);
  if (!match) throw new Error(`no INFO stats from ${host}: ${result.stdout}${result.stderr}`);
  return Number(match[1]);
}

describe("exposure probe against the namespace lab", () => {
  const byCase = new Map<LabCase, ProbeResult>();
  let run: CommandResult;
  let wallMs = 0;

  beforeAll(async () => {
    try {
      lab = await startProbeLab();
    } catch (error) {
      labError = error;
      throw error;
    }
    const targetsFile = join(lab.net.workDir, "targets.txt");
    const lines = Object.entries(lab.targets).map(([name, target]) => `${target}  # ${name}`);
    writeFileSync(targetsFile, `# every lab case, one per line\n${lines.join("\n")}\n`);
    const started = Date.now();
    run = await exposure(
      [
        "probe",
        "--json",
        "--timeout-ms",
        String(CONNECT_TIMEOUT_MS),
        "--deadline-ms",
        String(DEADLINE_MS),
        "--targets",
        targetsFile,
      ],
      true,
    );
    wallMs = Date.now() - started;
    const caseOf = new Map(Object.entries(lab.targets).map(([name, target]) => [target, name as LabCase]));
    for (const result of parseLines(run.stdout)) {
      const name = caseOf.get(result.target);
      if (name) byCase.set(name, result);
    }
  }, 120_000);

  afterAll(async () => {
    await lab?.teardown();
  });

  it("builds the lab (root, network namespaces, redis-server, openssl)", () => {
    expect(labError).toBeUndefined();
    expect(lab.net.scannerNs).toMatch(/^xs-[0-9a-f]{6}$/);
  });

  it("prints exactly one JSON line per target and exits 0", () => {
    expect(run.stderr.replace(/^lab-max-rss-kb \d+\n?/m, "")).toBe("");
    expect(parseLines(run.stdout).filter((result) => result.state === ("probe-error" as never))).toEqual([]);
    expect(run.code).toBe(0);
    const results = parseLines(run.stdout);
    expect(results).toHaveLength(Object.keys(LAB_CASES).length);
    expect(new Set(results.map((result) => result.target)).size).toBe(results.length);
    expect([...byCase.keys()].sort()).toEqual(Object.keys(LAB_CASES).sort());
  });

  it.each(Object.keys(EXPECTED) as LabCase[])("classifies %s", (name) => {
    const expected = EXPECTED[name];
    const result = byCase.get(name);
    expect(result, `no result for ${name}`).toBeDefined();
    if (!result) return;
    expect({ ip: result.ip, port: result.port }).toEqual({ ip: LAB_CASES[name], port: 6379 });
    expect({ state: result.state, exposure: result.exposure }).toEqual({
      state: expected.state,
      exposure: expected.exposure,
    });
    if (expected.tls !== undefined) expect(result.tls).toBe(expected.tls);
    if (expected.reply !== undefined) expect(result.reply.startsWith(expected.reply), result.reply).toBe(true);
    expect(result.reply.length).toBeLessThanOrEqual(200);
    expect(result.reply).toMatch(/^[\x20-\x7e]*$/);
    if (expected.server) expect(result.protocol).toMatchObject({ name: "redis", ...expected.server });
    if (expected.state !== "open-unauthenticated") expect(result.findings).toEqual([]);

    const compromise = result.findings.filter((finding) => finding.kind === "compromise").map((finding) => finding.id);
    expect(compromise.sort()).toEqual([...(expected.compromise ?? [])].sort());
    const cves = result.findings.filter((finding) => finding.kind === "cve").map((finding) => finding.id);
    for (const id of expected.cves ?? []) expect(cves).toContain(id);
    if (expected.noCves) expect(cves).toEqual([]);
    if (expected.cveEvidence) {
      for (const finding of result.findings.filter((f) => f.kind === "cve")) {
        expect(finding.evidence).toBe(expected.cveEvidence);
      }
    }
    if (expected.noFacts) expect(result.protocol).toEqual({ name: "redis" });
    for (const finding of result.findings) checkFinding(finding);

    if (expected.certificate) {
      const certificate = result.certificate;
      expect(certificate).toBeDefined();
      expect(certificate?.subject).toContain(expected.certificate.subject);
      expect(certificate?.issuer).toContain(expected.certificate.issuer);
      expect(certificate?.selfSigned).toBe(expected.certificate.selfSigned);
      // openssl made it with -days 2 a moment ago.
      const validTo = Date.parse(certificate?.validTo ?? "");
      expect(validTo - Date.now()).toBeGreaterThan(24 * 3_600_000);
      expect(validTo - Date.now()).toBeLessThan(3 * 24 * 3_600_000);
    } else {
      expect(result.certificate).toBeUndefined();
    }
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.durationMs).toBeLessThanOrEqual(DEADLINE_MS + MARGIN_MS);
    expect(Number.isNaN(Date.parse(result.observedAt))).toBe(false);
  });

  it("ends every hostile peer within its deadline", () => {
    for (const name of HOSTILE) {
      const result = byCase.get(name);
      expect(result, name).toBeDefined();
      expect(result?.durationMs, name).toBeLessThanOrEqual(DEADLINE_MS + MARGIN_MS);
    }
  });

  it("waits no longer than the connect timeout for a firewall that drops", () => {
    const filtered = byCase.get("filtered");
    // The engine gives a silent endpoint a few measured round trips, never less than its floor, and
    // tries it again before calling it filtered; durationMs is the last attempt's.
    expect(filtered?.durationMs).toBeGreaterThanOrEqual(DEFAULT_ADAPTIVE_OPTIONS.floorMs - 5);
    expect(filtered?.durationMs).toBeLessThanOrEqual(CONNECT_TIMEOUT_MS + MARGIN_MS);
  });

  it("probes all targets at once: the whole run is bounded by one deadline, not their sum", () => {
    // Three slow peers (hang, filtered, drip) in sequence would alone take over 3 deadlines.
    expect(wallMs).toBeLessThan(2 * DEADLINE_MS + 5_000);
  });

  it("does not buffer a 1 GB bulk header or an endless stream", () => {
    const match = /lab-max-rss-kb (\d+)/.exec(run.stderr);
    expect(match, run.stderr).not.toBeNull();
    // A Node process probing ~40 targets stays far below this; allocating the announced bulk would not.
    expect(Number(match?.[1])).toBeLessThan(300 * 1024);
  });

  it("keeps a replica's master that is allowed out of the findings (--allow-master)", async () => {
    const result = await exposure([
      "probe",
      "--json",
      "--allow-master",
      `${ROGUE_MASTER}/32`,
      lab.targets["rogue-replica"],
    ]);
    expect(result.code).toBe(0);
    const [replica] = parseLines(result.stdout);
    expect(replica?.protocol.masterHost).toBe(ROGUE_MASTER);
    expect(replica?.findings.map((finding) => finding.id)).not.toContain("ioc:rogue-master");
  });

  it("exits 3 with --fail-on when a target reaches that exposure, 0 otherwise", async () => {
    const exposed = await exposure(["probe", "--json", "--fail-on", "unauthenticated", lab.targets.open]);
    expect(exposed.code).toBe(3);
    expect(parseLines(exposed.stdout)[0]?.state).toBe("open-unauthenticated");
    const guarded = await exposure(["probe", "--json", "--fail-on", "unauthenticated", lab.targets.requirepass]);
    expect(guarded.code).toBe(0);
    expect(parseLines(guarded.stdout)[0]?.state).toBe("auth-required");
  });

  it.each([
    ["an impossible address", () => ["999.1.1.1"]],
    ["a block too large", () => ["10.0.0.0/8"]],
    ["a bad target next to a good one", () => [REDIS_CASES.open, "999.1.1.1"]],
    ["an IPv6 zone id", () => [REDIS_CASES.open, "fe80::1%eth0"]],
    [
      "more than 262,144 addresses in all",
      () => [REDIS_CASES.open, ...[18, 19, 20, 21, 22].map((b) => `198.${b}.0.0/16`)],
    ],
    ["a directory as the targets file", () => [REDIS_CASES.open, "--targets", lab.net.workDir]],
    ["a FIFO as the targets file", () => [REDIS_CASES.open, "--targets", special("fifo")]],
    ["a targets file over 16 MiB", () => [REDIS_CASES.open, "--targets", special("huge")]],
  ])("rejects %s with one line on stderr, exit 2, nothing probed", async (_, targetsOf) => {
    const targets = targetsOf();
    const before = await connectionsReceived(REDIS_CASES.open);
    const result = await exposure(["probe", "--json", ...targets]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^exposure: [^\n]+\n$/);
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(await connectionsReceived(REDIS_CASES.open)).toBe(before + 1); // our own INFO stats call only
  });
  it("prints a table without a control character, whatever the targets sent", async () => {
    const table = await exposure(["probe", lab.targets.escapes, lab.targets["tls-open"]]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("Redis 7.0.15");
    expect(table.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  it("records through scan the same verdicts probe prints, for every lab case", async () => {
    const storeDir = join(lab.net.workDir, "store-all");
    const file = join(lab.net.workDir, "targets.txt");
    const scan = await exposure([
      "scan",
      "--json",
      "--store-dir",
      storeDir,
      "--timeout-ms",
      String(CONNECT_TIMEOUT_MS),
      "--deadline-ms",
      String(DEADLINE_MS),
      "--targets",
      file,
    ]);
    expect(scan.code, scan.stderr).toBe(0);
    const { scan: record } = JSON.parse(scan.stdout.trim().split("\n").at(-1) as string);
    const expectedCounts: Record<string, number> = {};
    for (const expected of Object.values(EXPECTED)) {
      expectedCounts[expected.state] = (expectedCounts[expected.state] ?? 0) + 1;
    }
    expect(record.countsByState).toEqual(expectedCounts);
    const exposed = await exposure(["exposed", "--json", "--store-dir", storeDir]);
    const states = new Map(
      exposed.stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((text) => JSON.parse(text))
        .map((state) => [state.endpoint, state.state]),
    );
    for (const [name, expected] of Object.entries(EXPECTED)) {
      if (expected.exposure === "none") continue;
      expect(states.get(lab.targets[name as LabCase]), name).toBe(expected.state);
    }
  }, 120_000);

  it("reports an IPv6 target without an IPv6 route in the scanner namespace as a probe error, not filtered", async () => {
    const result = await exposure(["probe", "--json", IPV6_TARGET]);
    expect(result.code).toBe(0);
    const [line] = result.stdout
      .trim()
      .split("\n")
      .map((text) => JSON.parse(text));
    expect(line).toMatchObject({
      target: IPV6_TARGET,
      ip: "2001:db8::10",
      state: "probe-error",
      exposure: null,
      probeError: { code: "ENETUNREACH" },
    });
    expect(line.probeError.reason).toMatch(/no route to IPv6 address 2001:db8::10 on this machine/);
    expect(result.stderr).toMatch(
      /^exposure: 1 of 1 targets not probed: probe errors of this machine \(ENETUNREACH x1\)/,
    );
    // With --fail-on, a target that could not be probed is not a pass.
    const failOn = await exposure(["probe", "--json", "--fail-on", "unauthenticated", IPV6_TARGET]);
    expect(failOn.code).toBe(4);
  });

  it("scan records the IPv4 endpoint, counts the IPv6 one as a probe error and records nothing for it", async () => {
    const storeDir = join(lab.net.workDir, "store-ipv6");
    const scan = await exposure(["scan", "--json", "--store-dir", storeDir, IPV6_TARGET, lab.targets.open]);
    expect(scan.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(scan.code, scan.stderr).toBe(0);
    const { scan: record } = JSON.parse(scan.stdout.trim().split("\n").at(-1) as string);
    expect(record.countsByState).toEqual({ "open-unauthenticated": 1, "probe-error": 1 });
    const exposed = await exposure(["exposed", "--json", "--store-dir", storeDir]);
    const endpoints = exposed.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((text) => JSON.parse(text).endpoint);
    expect(endpoints).toEqual([lab.targets.open]);
    const history = await exposure(["history", "--json", "--store-dir", storeDir, IPV6_TARGET]);
    expect(history.stdout.trim()).toBe("");
  });

  it("reports probe errors, never filtered or closed, when the descriptor limit is lower than the concurrency", async () => {
    // Every port of the filtered host drops, so its probes hold their sockets while the closed host's run.
    await lab.net.targetFirewall(["-I", "INPUT", "-d", NETWORK_CASES.filtered, "-p", "tcp", "-j", "DROP"]);
    const lines = [lab.targets.open];
    for (let port = 20_001; port <= 20_150; port++) {
      lines.push(`${NETWORK_CASES.filtered}:${port}`, `${NETWORK_CASES.closed}:${port}`);
    }
    const file = join(lab.net.workDir, "descriptors.txt");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const result = await exposureWithFiles(40, [
      "probe",
      "--json",
      "--concurrency",
      "300",
      "--timeout-ms",
      "1000",
      "--targets",
      file,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const results = parseLines(result.stdout) as Array<
      ProbeResult | { state: "probe-error"; ip: string; probeError: { code: string } }
    >;
    expect(results).toHaveLength(lines.length);
    const errors = results.filter((r) => r.state === "probe-error");
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors)
      expect(["EMFILE", "ENFILE"]).toContain((error as { probeError: { code: string } }).probeError.code);
    expect(result.stderr).toMatch(/targets not probed: probe errors of this machine \(EMFILE x\d+/);
    // Whatever was probed is right: the closed host closed, the open Redis open; no closed port called filtered.
    for (const r of results) {
      if (r.state === "probe-error") continue;
      if (r.ip === NETWORK_CASES.closed) expect(r.state).toBe("closed");
      else if (r.ip === NETWORK_CASES.filtered) expect(r.state).toBe("filtered");
      else expect(r.state).toBe("open-unauthenticated");
    }
  });

  it("finds a TLS-only open Redis behind a slow handshake on every scan: no flip, one event", async () => {
    // Many fast answers first, so the engine's connect timeouts shrink to a few round trips of this link.
    const lines = Array.from({ length: 300 }, (_, i) => `${NETWORK_CASES.closed}:${21_001 + i}`);
    lines.push(lab.targets["tls-slow-handshake"]);
    const file = join(lab.net.workDir, "slow-tls.txt");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const storeDir = join(lab.net.workDir, "store-slow-tls");
    for (let cycle = 1; cycle <= 5; cycle++) {
      const scan = await exposure(["scan", "--json", "--store-dir", storeDir, "--targets", file]);
      expect(scan.code, scan.stderr).toBe(0);
      const { scan: record } = JSON.parse(scan.stdout.trim().split("\n").at(-1) as string);
      expect(record.countsByState, `cycle ${cycle}`).toEqual({ closed: 300, "open-unauthenticated": 1 });
    }
    const history = await exposure(["history", "--json", "--store-dir", storeDir, lab.targets["tls-slow-handshake"]]);
    const events = history.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((text) => JSON.parse(text));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ previous: null, current: { state: "open-unauthenticated", tls: true } });
    // The same through `probe`, whose engine is the same.
    const probe = await exposure(["probe", "--json", "--targets", file]);
    const slow = parseLines(probe.stdout).find((r) => r.target === lab.targets["tls-slow-handshake"]);
    expect(slow).toMatchObject({ state: "open-unauthenticated", tls: true });
    expect(slow?.durationMs).toBeGreaterThanOrEqual(2 * SLOW_TLS_DELAY_MS);
  }, 180_000);
});

/** A FIFO (nobody writes to it: reading would block forever) or a sparse 17 MiB file, in the lab's directory. */
function special(kind: "fifo" | "huge"): string {
  const dir = join(lab.net.workDir, "special");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, kind);
  if (kind === "fifo") {
    execFileSync("mkfifo", [path]);
  } else {
    const fd = openSync(path, "w");
    ftruncateSync(fd, 17 * 1024 * 1024);
    closeSync(fd);
  }
  return path;
}

function checkFinding(finding: Finding): void {
  expect(finding.title.length).toBeGreaterThan(0);
  expect(finding.evidence.length).toBeGreaterThan(0);
  expect(["critical", "high", "medium", "low", "info"]).toContain(finding.severity);
  if (finding.kind === "cve") {
    expect(finding.id).toMatch(/^CVE-\d{4}-\d+$/);
  } else {
    const evidence = EVIDENCE[finding.id];
    expect(evidence, `unexpected indicator ${finding.id}`).toBeDefined();
    if (evidence) expect(finding.evidence).toMatch(evidence);
  }
}
