// The fleet simulator: thousands of Redis endpoints in 198.18.0.0/15 with a known state each, built
// in network namespaces as docs/readme-lab.md lays out (nothing in the root namespace, the scanner
// in a namespace of its own, only 198.18.0.0/15 and 198.51.100.0/24, torn down always).
//
//   xs (scanner) --198.51.100.0/30-- xt (router, AnyIP 198.18.0.0/15) --/30 each-- xu, xa, xp, xb, xo
//
// In xt every fleet address is local (AnyIP) and nothing listens, so an address is `closed` (the
// kernel answers RST) unless a /32 route sends it elsewhere: a blackhole route drops it silently
// (`filtered`), a route via a server namespace hands it to that namespace, whose own AnyIP route and
// a server bound to 0.0.0.0:6379 answer for it: real redis-server processes (unauthenticated,
// requirepass, protected mode, maxclients full) and own-redis.ts, which plays a Redis per address
// (other versions, old auth error, protected mode, busy, accept-and-close, not Redis, slow replies).
// Routes instead of per-address firewall rules: a /32 lookup costs the same for 10 or 100,000
// addresses, where a chain of thousands of iptables rules would add its own delay to every packet.
// Loss and "first SYN dropped" are iptables rules inside xt only.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { EXIT_FAILURE, EXIT_USAGE } from "../cli/args.ts";
import type { ProbeState } from "../shared/exposure/model.ts";
import { LabUnavailableError, runCommand, stopProcesses } from "../test/lab/netns.ts";
import { baseConfig, REDIS_SERVER } from "../test/lab/redis.ts";
import type { Persona } from "./own-redis.ts";

export const FLEET_CIDR = "198.18.0.0/15";
/** The IPv6 fleet: a documentation /64 (RFC 3849), with its links in another documentation /48. */
export const FLEET_CIDR6 = "2001:db8:0:1::/64";
const LINKS6 = "2001:db8:ff::/48";
export const REDIS_PORT = 6379;
const SCANNER_ADDRESS = "198.51.100.1";
const ROUTER_ADDRESS = "198.51.100.2";
const SCANNER_ADDRESS6 = "2001:db8:ff::1";
const ROUTER_ADDRESS6 = "2001:db8:ff::2";
const BENCH_DIR = new URL(".", import.meta.url).pathname;
const HOLD_CONNECTION = new URL("../test/lab/hold-connection.ts", import.meta.url).pathname;
const READY_TIMEOUT_MS = 30_000;

/** Who answers for an address. */
export type EndpointServer = "none" | "real-open" | "real-auth" | "real-protected" | "real-busy" | "own";

export interface Endpoint {
  ip: string;
  /** The state a correct probe reports: the ground truth. */
  truth: ProbeState;
  server: EndpointServer;
  /** The redis_version a correct probe reads, when the endpoint is unauthenticated. */
  version?: string;
  persona?: Persona;
  /** Replies held back this long (a slow answerer). */
  delayMs?: number;
  /** The first SYN to this address is dropped (a full accept backlog): only a retransmission or a retry connects. */
  synDropOnce?: boolean;
}

export interface FleetOptions {
  size: number;
  /** Shares of the fleet; what is left over is filtered. */
  openShare: number;
  closedShare: number;
  /** Accept-and-close endpoints (counted apart from the open share). */
  dropped: number;
  /** Random packet loss on the scanner link, each direction (0..1). */
  loss: number;
  /** Slow answerers: half reply late (200-1,500 ms), half drop the first SYN. */
  slow: number;
  seed: number;
  /** Address family of the fleet: 198.18.0.0/15, or a documentation /64. */
  family?: "ipv4" | "ipv6";
}

export const DEFAULT_FLEET: FleetOptions = {
  size: 10_000,
  openShare: 0.1,
  closedShare: 0.3,
  dropped: 0,
  loss: 0,
  slow: 0,
  seed: 7,
  family: "ipv4",
};

/** How the open share is split between servers; real redis-server processes serve most of it. */
const OPEN_MIX: Array<{ weight: number; server: EndpointServer; persona?: Persona; truth: ProbeState }> = [
  { weight: 50, server: "real-open", truth: "open-unauthenticated" },
  { weight: 15, server: "real-auth", truth: "auth-required" },
  { weight: 5, server: "real-protected", truth: "protected-mode" },
  { weight: 5, server: "real-busy", truth: "busy" },
  { weight: 3, server: "own", persona: { kind: "open", version: "5.0.7" }, truth: "open-unauthenticated" },
  { weight: 3, server: "own", persona: { kind: "open", version: "6.2.6" }, truth: "open-unauthenticated" },
  { weight: 3, server: "own", persona: { kind: "open", version: "7.2.4" }, truth: "open-unauthenticated" },
  { weight: 3, server: "own", persona: { kind: "open", version: "8.0.2" }, truth: "open-unauthenticated" },
  { weight: 5, server: "own", persona: { kind: "auth" }, truth: "auth-required" },
  { weight: 3, server: "own", persona: { kind: "auth-old" }, truth: "auth-required" },
  { weight: 2, server: "own", persona: { kind: "protected" }, truth: "protected-mode" },
  { weight: 2, server: "own", persona: { kind: "busy" }, truth: "busy" },
  { weight: 1, server: "own", persona: { kind: "not-redis" }, truth: "not-redis" },
];

const SERVER_NAMESPACES: Array<{ server: Exclude<EndpointServer, "none">; prefix: string }> = [
  { server: "real-open", prefix: "xu" },
  { server: "real-auth", prefix: "xa" },
  { server: "real-protected", prefix: "xp" },
  { server: "real-busy", prefix: "xb" },
  { server: "own", prefix: "xo" },
];

/** A small seeded generator (mulberry32): the same seed builds the same fleet. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** Distinct random host addresses in 198.18.0.0/15 (no .0 or .255), or in the IPv6 /64, in random order. */
function fleetAddresses(count: number, random: () => number, family: FleetOptions["family"]): string[] {
  if (count > 120_000) throw new RangeError("a fleet has at most 120,000 endpoints");
  const chosen = new Set<number>();
  while (chosen.size < count) {
    const offset = Math.floor(random() * 131_072);
    const last = offset & 0xff;
    if (last !== 0 && last !== 255) chosen.add(offset);
  }
  if (family === "ipv6") {
    // 2001:db8:0:1::g:h with g and h never zero: already the canonical text (RFC 5952) results carry.
    return [...chosen].map(
      (offset) => `2001:db8:0:1::${(1 + (offset >> 8)).toString(16)}:${(offset & 0xff).toString(16)}`,
    );
  }
  return [...chosen].map((offset) => `198.${18 + (offset >> 16)}.${(offset >> 8) & 0xff}.${offset & 0xff}`);
}

/** Splits `count` by integer weights so the parts add up exactly. */
function apportion(count: number, weights: number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const parts = weights.map((weight) => Math.floor((count * weight) / total));
  let left = count - parts.reduce((sum, part) => sum + part, 0);
  for (let i = 0; left > 0; i = (i + 1) % parts.length, left--) parts[i] = (parts[i] ?? 0) + 1;
  return parts;
}

/** The fleet's endpoints and their ground truth, in probe order; pure, so it is unit-testable. */
export function planFleet(options: FleetOptions, realVersion = "7.0.15"): Endpoint[] {
  const { size } = options;
  const random = seededRandom(options.seed);
  const open = Math.round(size * options.openShare);
  const closed = Math.round(size * options.closedShare);
  const dropped = options.dropped;
  const filtered = size - open - closed - dropped;
  if (filtered < 0 || open < 0 || closed < 0 || dropped < 0)
    throw new RangeError("fleet shares add up to more than the fleet");
  const addresses = fleetAddresses(size, random, options.family ?? "ipv4");
  const endpoints: Endpoint[] = [];
  let next = 0;
  const take = () => addresses[next++] as string;
  for (let i = 0; i < filtered; i++) endpoints.push({ ip: take(), truth: "filtered", server: "none" });
  for (let i = 0; i < closed; i++) endpoints.push({ ip: take(), truth: "closed", server: "none" });
  for (let i = 0; i < dropped; i++) {
    endpoints.push({ ip: take(), truth: "dropped", server: "own", persona: { kind: "dropped" } });
  }
  const parts = apportion(
    open,
    OPEN_MIX.map((entry) => entry.weight),
  );
  OPEN_MIX.forEach((entry, index) => {
    for (let i = 0; i < (parts[index] ?? 0); i++) {
      const endpoint: Endpoint = { ip: take(), truth: entry.truth, server: entry.server };
      if (entry.persona) endpoint.persona = { ...entry.persona };
      if (entry.truth === "open-unauthenticated") endpoint.version = entry.persona?.version ?? realVersion;
      endpoints.push(endpoint);
    }
  });
  // Slow answerers: replies held back (own server) and first SYNs dropped (any answering endpoint).
  const slowReplies = Math.floor(options.slow / 2);
  const synDrops = options.slow - slowReplies;
  const ownAnswering = shuffle(
    endpoints.filter((e) => e.server === "own" && e.persona && e.persona.kind !== "dropped"),
    random,
  );
  if (slowReplies > ownAnswering.length)
    throw new RangeError(`at most ${ownAnswering.length * 2} slow answerers in this fleet`);
  for (const endpoint of ownAnswering.slice(0, slowReplies)) {
    endpoint.delayMs = 200 + Math.floor(random() * 1_300);
    (endpoint.persona as Persona).delayMs = endpoint.delayMs;
  }
  const answering = shuffle(
    endpoints.filter((e) => e.truth !== "filtered" && e.delayMs === undefined),
    random,
  );
  if (synDrops > answering.length) throw new RangeError("more slow answerers than answering endpoints");
  for (const endpoint of answering.slice(0, synDrops)) endpoint.synDropOnce = true;
  return shuffle(endpoints, random);
}

/** Counts per true state, for reports. */
export function truthCounts(endpoints: Endpoint[]): Partial<Record<ProbeState, number>> {
  const counts: Partial<Record<ProbeState, number>> = {};
  for (const endpoint of endpoints) counts[endpoint.truth] = (counts[endpoint.truth] ?? 0) + 1;
  return counts;
}

function assertFleetAddress(ip: string): void {
  if (/^2001:db8:0:1::[0-9a-f]{1,4}:[0-9a-f]{1,2}$/.test(ip)) return;
  const match = /^198\.(18|19)\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!match || Number(match[2]) > 255 || Number(match[3]) > 255)
    throw new Error(`fleet addresses must be in ${FLEET_CIDR} or ${FLEET_CIDR6}, got "${ip}"`);
}

async function mustRun(command: string, args: string[], input?: string): Promise<string> {
  const result = await runCommand(command, args, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  if (result.code !== 0) {
    throw new LabUnavailableError(
      `\`${command} ${args.join(" ").slice(0, 200)}\` failed (exit ${result.code}): ${result.stderr.trim().slice(0, 500)}`,
    );
  }
  return result.stdout;
}

const RUN_PATTERN = /^x[a-z]-bf([0-9a-f]{6})$/;
const runDir = (run: string) => join(tmpdir(), `exposure-bench-${run}`);

/**
 * Removes namespaces left by bench runs whose process is gone (a run killed with SIGKILL cannot
 * clean up after itself). Only names this module makes, and only when their owner is dead.
 */
export function removeStaleFleets(): string[] {
  let names: string[] = [];
  try {
    names = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.split(" ")[0] ?? "")
      .filter((name) => RUN_PATTERN.test(name));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const run = `bf${RUN_PATTERN.exec(name)?.[1]}`;
    const pidFile = join(runDir(run), "pid");
    const owner = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0;
    if (owner > 0 && isAlive(owner)) continue;
    killNamespaceProcesses(name);
    try {
      execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
      removed.push(name);
    } catch {
      // already gone
    }
  }
  for (const entry of readdirSync(tmpdir())) {
    const match = /^exposure-bench-(bf[0-9a-f]{6})$/.exec(entry);
    if (!match) continue;
    const pidFile = join(tmpdir(), entry, "pid");
    const owner = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0;
    if (!(owner > 0 && isAlive(owner))) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killNamespaceProcesses(ns: string): void {
  try {
    const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
  } catch {
    // namespace already gone
  }
}

const liveFleets = new Set<Fleet>();
/** Tears down every fleet of this process now (for exit and signal handlers). */
export function teardownAllFleetsSync(): void {
  for (const fleet of liveFleets) fleet.teardownSync();
}
process.on("exit", teardownAllFleetsSync);

/**
 * Runs a bench command's main as the process's entry: its fleets torn down on SIGINT, SIGTERM and SIGHUP
 * (exit 130), its exit code set from main's result; an error is one line prefixed with `label`, exit
 * EXIT_USAGE for a usage error (`usageError`), EXIT_FAILURE otherwise.
 */
export function runBenchEntry(
  label: string,
  main: () => Promise<number>,
  usageError: (error: unknown) => boolean = () => false,
): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      teardownAllFleetsSync();
      process.exit(130);
    });
  }
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${label}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n`);
      process.exitCode = usageError(error) ? EXIT_USAGE : EXIT_FAILURE;
    },
  );
}

export class Fleet {
  readonly run: string;
  readonly scannerNs: string;
  readonly routerNs: string;
  readonly workDir: string;
  readonly options: FleetOptions;
  /** Every endpoint with its ground truth, in probe order. */
  readonly endpoints: Endpoint[];
  /** One address per line, in probe order (what nmap's -iL and the engine read). */
  readonly targetsFile: string;
  readonly #namespaces: string[] = [];
  readonly #children = new Set<ChildProcess>();
  #synDropGeneration = 0;
  #tornDown = false;

  private constructor(run: string, options: FleetOptions, endpoints: Endpoint[]) {
    this.run = run;
    this.options = options;
    this.endpoints = endpoints;
    this.scannerNs = `xs-${run}`;
    this.routerNs = `xt-${run}`;
    this.workDir = runDir(run);
    mkdirSync(this.workDir, { recursive: true });
    writeFileSync(join(this.workDir, "pid"), String(process.pid));
    this.targetsFile = join(this.workDir, "fleet.txt");
    writeFileSync(this.targetsFile, `${endpoints.map((endpoint) => endpoint.ip).join("\n")}\n`);
  }

  /** Builds the fleet; on any failure removes what it made and throws a LabUnavailableError. */
  static async create(options: Partial<FleetOptions> = {}): Promise<Fleet> {
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
      throw new LabUnavailableError(
        `the fleet simulator needs root for network namespaces (running as uid ${process.getuid()})`,
      );
    }
    const settings = { ...DEFAULT_FLEET, ...options };
    if (!(settings.loss >= 0 && settings.loss < 1)) throw new RangeError("loss must be in [0, 1)");
    removeStaleFleets();
    const endpoints = planFleet(settings, await redisVersion());
    for (const endpoint of endpoints) assertFleetAddress(endpoint.ip);
    const fleet = new Fleet(`bf${randomBytes(3).toString("hex")}`, settings, endpoints);
    liveFleets.add(fleet);
    try {
      await fleet.#build();
    } catch (error) {
      await fleet.teardown();
      throw error instanceof LabUnavailableError
        ? error
        : new LabUnavailableError(`could not build the fleet: ${(error as Error).message}`);
    }
    return fleet;
  }

  /** Runs a command inside one of this fleet's namespaces (the scanner's, usually). */
  execArgs(ns: string, command: string, args: string[]): string[] {
    if (!this.#namespaces.includes(ns)) throw new Error(`namespace ${ns} is not part of this fleet`);
    return ["netns", "exec", ns, command, ...args];
  }

  async #addNamespace(name: string): Promise<void> {
    await mustRun("ip", ["netns", "add", name]);
    this.#namespaces.push(name);
    await mustRun("ip", ["-n", name, "link", "set", "lo", "up"]);
  }

  /** A veth pair created directly inside both namespaces (never in the root namespace). */
  async #link(
    a: string,
    aDev: string,
    aAddress: string,
    b: string,
    bDev: string,
    bAddress: string,
    v6?: [string, string],
  ): Promise<void> {
    await mustRun("ip", ["link", "add", aDev, "netns", a, "type", "veth", "peer", "name", bDev, "netns", b]);
    await mustRun("ip", ["-n", a, "addr", "add", `${aAddress}/30`, "dev", aDev]);
    await mustRun("ip", ["-n", b, "addr", "add", `${bAddress}/30`, "dev", bDev]);
    if (v6) {
      // nodad: usable at once, rather than after duplicate address detection.
      await mustRun("ip", ["-n", a, "-6", "addr", "add", `${v6[0]}/64`, "dev", aDev, "nodad"]);
      await mustRun("ip", ["-n", b, "-6", "addr", "add", `${v6[1]}/64`, "dev", bDev, "nodad"]);
    }
    await mustRun("ip", ["-n", a, "link", "set", aDev, "up"]);
    await mustRun("ip", ["-n", b, "link", "set", bDev, "up"]);
  }

  async #build(): Promise<void> {
    const xs = this.scannerNs;
    const xt = this.routerNs;
    await this.#addNamespace(xs);
    await this.#addNamespace(xt);
    const v6 = this.options.family === "ipv6";
    await this.#link(
      xs,
      "s0",
      SCANNER_ADDRESS,
      xt,
      "t0",
      ROUTER_ADDRESS,
      v6 ? [SCANNER_ADDRESS6, ROUTER_ADDRESS6] : undefined,
    );
    await mustRun("ip", ["-n", xs, "route", "add", FLEET_CIDR, "via", ROUTER_ADDRESS]);
    await mustRun("ip", ["-n", xt, "route", "add", "local", FLEET_CIDR, "dev", "lo"]);
    await mustRun("ip", ["netns", "exec", xt, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    if (v6) {
      await mustRun("ip", ["-n", xs, "-6", "route", "add", FLEET_CIDR6, "via", ROUTER_ADDRESS6]);
      await mustRun("ip", ["-n", xt, "-6", "route", "add", "local", FLEET_CIDR6, "dev", "lo"]);
      await mustRun("ip", ["netns", "exec", xt, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    }
    // Room for a thousand half-open connections at once without SYN cookies or backlog drops.
    for (const ns of [xs, xt]) {
      await mustRun("ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv4.tcp_max_syn_backlog=8192"]);
    }

    const routes: string[] = [];
    for (const endpoint of this.endpoints) {
      if (endpoint.truth === "filtered") routes.push(`route add blackhole ${hostRoute(endpoint.ip)} table local`);
    }
    const servers = new Set(this.endpoints.map((endpoint) => endpoint.server));
    let linkIndex = 1;
    for (const { server, prefix } of SERVER_NAMESPACES) {
      if (!servers.has(server)) continue;
      const ns = `${prefix}-${this.run}`;
      const near = `198.51.100.${4 * linkIndex + 1}`;
      const far = `198.51.100.${4 * linkIndex + 2}`;
      await this.#addNamespace(ns);
      const near6 = `2001:db8:ff:${linkIndex.toString(16)}::1`;
      const far6 = `2001:db8:ff:${linkIndex.toString(16)}::2`;
      await this.#link(xt, `g${linkIndex}`, near, ns, "h0", far, v6 ? [near6, far6] : undefined);
      await mustRun("ip", ["-n", ns, "route", "add", "local", FLEET_CIDR, "dev", "lo"]);
      await mustRun("ip", ["-n", ns, "route", "add", "198.51.100.0/24", "via", near]);
      if (v6) {
        await mustRun("ip", ["-n", ns, "-6", "route", "add", "local", FLEET_CIDR6, "dev", "lo"]);
        await mustRun("ip", ["-n", ns, "-6", "route", "add", LINKS6, "via", near6]);
      }
      await mustRun("ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv4.tcp_max_syn_backlog=8192"]);
      for (const endpoint of this.endpoints) {
        if (endpoint.server === server) {
          routes.push(`route add ${hostRoute(endpoint.ip)} via ${v6 ? far6 : far} table local`);
        }
      }
      linkIndex++;
      await this.#startServer(server, ns);
    }
    await mustRun("ip", ["-n", xt, ...(v6 ? ["-6"] : []), "-batch", "-"], `${routes.join("\n")}\n`);
    await this.#installFirewall();
  }

  async #startServer(server: Exclude<EndpointServer, "none">, ns: string): Promise<void> {
    if (server === "own") {
      const personas: Record<string, Persona> = {};
      for (const endpoint of this.endpoints)
        if (endpoint.server === "own" && endpoint.persona) personas[endpoint.ip] = endpoint.persona;
      const file = join(this.workDir, "personas.json");
      writeFileSync(file, JSON.stringify(personas));
      const child = this.#spawn(ns, process.execPath, [join(BENCH_DIR, "own-redis.ts"), file], {
        OWN_REDIS_HOST: this.options.family === "ipv6" ? "::" : "0.0.0.0",
      });
      await waitForLine(child, "ready", "own-redis.ts");
      return;
    }
    const dir = join(this.workDir, ns);
    mkdirSync(dir, { recursive: true });
    const logFile = join(dir, "redis.log");
    // Bound to 0.0.0.0 (or ::): the namespace's AnyIP route hands it every fleet address routed there.
    const config = [
      ...baseConfig(this.options.family === "ipv6" ? "0.0.0.0 ::" : "0.0.0.0", dir, logFile),
      "tcp-backlog 4096",
      "maxclients 10000",
    ];
    if (server === "real-auth") config.push(`requirepass ${randomBytes(12).toString("hex")}`);
    if (server === "real-protected") config.push("protected-mode yes");
    if (server === "real-busy") config.push("maxclients 1");
    writeFileSync(join(dir, "redis.conf"), `${config.join("\n")}\n`);
    const child = this.#spawn(ns, REDIS_SERVER, [join(dir, "redis.conf")]);
    child.stdout?.resume();
    child.stderr?.resume();
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(existsSync(logFile) && /Ready to accept connections/.test(readFileSync(logFile, "utf8")))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new LabUnavailableError(
          `redis-server (${server}) did not start: ${existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-300) : ""}`,
        );
      }
      await sleep(50);
    }
    if (server === "real-busy") {
      // maxclients 1 and one client held from inside: every probe gets "max number of clients reached".
      const holder = this.#spawn(ns, process.execPath, [HOLD_CONNECTION, "127.0.0.1", String(REDIS_PORT)]);
      await waitForLine(holder, "held", "hold-connection.ts");
    }
  }

  #spawn(ns: string, command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    // setpriv --pdeathsig: a server dies with this process, even when it is killed with SIGKILL.
    const child = spawn("ip", this.execArgs(ns, "setpriv", ["--pdeathsig", "KILL", "--", command, ...args]), {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    this.#children.add(child);
    child.on("exit", () => this.#children.delete(child));
    child.on("error", () => this.#children.delete(child));
    return child;
  }

  /** Loss and first-SYN drops: iptables inside the router namespace only. */
  async #installFirewall(): Promise<void> {
    const xt = this.routerNs;
    const { loss } = this.options;
    const rules = ["*raw", ":SYNONCE - [0:0]"];
    if (loss > 0) rules.push(`-A PREROUTING -i t0 -m statistic --mode random --probability ${loss} -j DROP`);
    rules.push("-A PREROUTING -i t0 -p tcp --syn -j SYNONCE", "COMMIT", "*mangle");
    if (loss > 0) rules.push(`-A POSTROUTING -o t0 -m statistic --mode random --probability ${loss} -j DROP`);
    rules.push("COMMIT");
    await mustRun("ip", ["netns", "exec", xt, "iptables-restore"], `${rules.join("\n")}\n`);
    await this.resetSynDrops();
  }

  /**
   * Re-arms the first-SYN drops, so that every tool meets the same fleet: a fresh hashlimit table
   * per tool (each address lets its first SYN go unanswered, every later one through).
   */
  async resetSynDrops(): Promise<void> {
    const addresses = this.endpoints.filter((endpoint) => endpoint.synDropOnce).map((endpoint) => endpoint.ip);
    const name = `synonce${++this.#synDropGeneration}`;
    const rules = ["*raw", ":SYNONCE - [0:0]"];
    for (const ip of addresses) {
      rules.push(
        `-A SYNONCE -d ${ip}/32 -p tcp --dport ${REDIS_PORT} -m hashlimit --hashlimit-upto 1/hour --hashlimit-burst 1 --hashlimit-mode dstip --hashlimit-name ${name} --hashlimit-htable-expire 3600000 -j DROP`,
      );
    }
    rules.push("COMMIT");
    await mustRun("ip", ["netns", "exec", this.routerNs, "iptables-restore", "--noflush"], `${rules.join("\n")}\n`);
  }

  /** Kills this fleet's processes, deletes its namespaces and work directory. Idempotent, never throws. */
  async teardown(): Promise<void> {
    if (this.#tornDown) return;
    await stopProcesses(this.#children);
    this.teardownSync();
  }

  teardownSync(): void {
    this.#tornDown = true;
    for (const child of this.#children) child.kill("SIGKILL");
    for (const ns of this.#namespaces) killNamespaceProcesses(ns);
    for (const ns of this.#namespaces.splice(0).reverse()) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
    rmSync(this.workDir, { recursive: true, force: true });
    liveFleets.delete(this);
  }
}

/** The route to one host: /32 or /128. */
function hostRoute(ip: string): string {
  return ip.includes(":") ? `${ip}/128` : `${ip}/32`;
}

async function redisVersion(): Promise<string> {
  const result = await runCommand(REDIS_SERVER, ["--version"]).catch((error: Error) => {
    throw new LabUnavailableError(`redis-server is needed for the fleet (${REDIS_SERVER}): ${error.message}`);
  });
  const match = /v=(\d+\.\d+\.\d+)/.exec(result.stdout);
  if (!match?.[1]) throw new LabUnavailableError(`cannot read the redis-server version from "${result.stdout.trim()}"`);
  return match[1];
}

function waitForLine(child: ChildProcess, line: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => reject(new LabUnavailableError(`${what} not ready after ${READY_TIMEOUT_MS} ms: ${err.trim()}`)),
      READY_TIMEOUT_MS,
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.split("\n").includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new LabUnavailableError(`${what} exited (${code}) before it was ready: ${err.trim().slice(0, 300)}`));
    });
  });
}
