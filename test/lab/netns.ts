// A two-namespace network lab (docs/readme-lab.md): the scanner lives in `xs-<run>`, the
// targets in `xt-<run>`, joined by one veth pair. Named target hosts are 203.0.113.N/32 on the
// target side. Neither namespace has a route out, so nothing a test does can reach a real
// network, and the root namespace is never changed.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";

export const SCANNER_LINK_ADDRESS = "198.51.100.1";
export const TARGET_LINK_ADDRESS = "198.51.100.2";
/** Named test hosts live here (TEST-NET-3); the scanner routes this block to the target namespace. */
export const TARGET_HOSTS_CIDR = "203.0.113.0/24";

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Ends child processes: stdin closed and SIGTERM, then SIGKILL for any still running after `graceMs`. */
export async function stopProcesses(children: Iterable<ChildProcess>, graceMs = 3_000): Promise<void> {
  const exits = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, graceMs);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin?.end();
        child.kill("SIGTERM");
      }),
  );
  await Promise.all(exits);
}

/** Thrown when the lab cannot be built; never turned into a skip (docs/readme-lab.md: without its tools the test fails, it never skips). */
export class LabUnavailableError extends Error {
  override name = "LabUnavailableError";
}

/** Runs a command to completion and collects its output; `timeoutMs` kills it if it hangs. */
export function runCommand(
  command: string,
  args: string[],
  options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: options.env, cwd: options.cwd });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() });
    });
    // A command may exit before reading its input; that EPIPE is not an error of ours.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

async function mustRun(command: string, args: string[]): Promise<string> {
  const result = await runCommand(command, args, { timeoutMs: 15_000 });
  if (result.code !== 0) {
    throw new LabUnavailableError(
      `\`${command} ${args.join(" ")}\` failed (exit ${result.code}): ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** A guard for rule 3: only TEST-NET-3 host addresses may be put on a lab interface. */
function assertLabHostAddress(ip: string): void {
  const match = IPV4.exec(ip);
  const last = match ? Number(match[4]) : -1;
  if (!match || !ip.startsWith("203.0.113.") || last < 1 || last > 254) {
    throw new Error(`lab host addresses must be in ${TARGET_HOSTS_CIDR}, got "${ip}"`);
  }
}

/** Labs not yet torn down, so a crashing or interrupted test process still removes its namespaces. */
const liveLabs = new Set<NetnsLab>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => {
    for (const lab of liveLabs) lab.teardownSync();
  });
  // Node skips "exit" handlers when a signal kills it: clean up, then die of the same signal.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    if (process.listenerCount(signal) > 0) continue; // someone else (a test runner) owns this signal
    process.once(signal, () => {
      for (const lab of liveLabs) lab.teardownSync();
      process.kill(process.pid, signal);
    });
  }
}

export class NetnsLab {
  /** Short per-run suffix: namespace and interface names stay unique and within 15 characters. */
  readonly run: string;
  readonly scannerNs: string;
  readonly targetNs: string;
  /** A temp directory owned by this run (configs, certificates, logs). */
  readonly workDir: string;
  readonly #created: string[] = [];
  readonly #children = new Set<ChildProcess>();
  #tornDown = false;

  private constructor(run: string) {
    this.run = run;
    this.scannerNs = `xs-${run}`;
    this.targetNs = `xt-${run}`;
    // Under /tmp on purpose: the "compromised" case runs a copy of redis-server from here (an IoC).
    this.workDir = mkdtempSync(`/tmp/exposure-lab-${run}-`);
  }

  /** Builds both namespaces and the link; on any failure removes what it made and throws loudly. */
  static async create(): Promise<NetnsLab> {
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
      throw new LabUnavailableError(
        `the network lab needs root to create network namespaces (running as uid ${process.getuid()}); run the tests as root, as CI does`,
      );
    }
    installExitHooks();
    const lab = new NetnsLab(randomBytes(3).toString("hex"));
    liveLabs.add(lab);
    try {
      await lab.#build();
    } catch (error) {
      await lab.teardown();
      throw error instanceof LabUnavailableError
        ? error
        : new LabUnavailableError(`could not build the network lab: ${(error as Error).message}`);
    }
    return lab;
  }

  async #build(): Promise<void> {
    const { scannerNs: xs, targetNs: xt } = this;
    for (const ns of [xs, xt]) {
      await mustRun("ip", ["netns", "add", ns]);
      this.#created.push(ns);
    }
    // Both ends are created directly inside their namespaces: nothing ever appears in the root namespace.
    const scannerIf = `s-${this.run}`;
    const targetIf = `t-${this.run}`;
    await mustRun("ip", ["link", "add", scannerIf, "netns", xs, "type", "veth", "peer", "name", targetIf, "netns", xt]);
    await mustRun("ip", ["-n", xs, "addr", "add", `${SCANNER_LINK_ADDRESS}/24`, "dev", scannerIf]);
    await mustRun("ip", ["-n", xt, "addr", "add", `${TARGET_LINK_ADDRESS}/24`, "dev", targetIf]);
    for (const [ns, dev] of [
      [xs, "lo"],
      [xt, "lo"],
      [xs, scannerIf],
      [xt, targetIf],
    ] as const) {
      await mustRun("ip", ["-n", ns, "link", "set", dev, "up"]);
    }
    await mustRun("ip", ["-n", xs, "route", "add", TARGET_HOSTS_CIDR, "via", TARGET_LINK_ADDRESS]);
  }

  get targetInterface(): string {
    return `t-${this.run}`;
  }

  /** Puts a named host 203.0.113.N/32 on the target side (reachable from the scanner via its route). */
  async addTargetHost(ip: string): Promise<void> {
    assertLabHostAddress(ip);
    await mustRun("ip", ["-n", this.targetNs, "addr", "add", `${ip}/32`, "dev", this.targetInterface]);
  }

  /** One iptables rule (or any iptables call) inside the target namespace only. */
  async targetFirewall(args: string[]): Promise<void> {
    await mustRun("ip", ["netns", "exec", this.targetNs, "iptables", ...args]);
  }

  /** Runs a command to completion inside a namespace of this lab. */
  exec(
    ns: string,
    command: string,
    args: string[],
    options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ): Promise<CommandResult> {
    this.#assertOwn(ns);
    return runCommand("ip", ["netns", "exec", ns, command, ...args], options);
  }

  /**
   * Starts a long-running process inside a namespace; teardown kills it. `setpriv --pdeathsig`
   * makes the kernel kill it too if the test process dies without running teardown.
   */
  spawnIn(ns: string, command: string, args: string[], options: { cwd?: string } = {}): ChildProcess {
    this.#assertOwn(ns);
    if (this.#tornDown) throw new Error("lab already torn down");
    const child = spawn("ip", ["netns", "exec", ns, "setpriv", "--pdeathsig", "KILL", command, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
      cwd: options.cwd,
    });
    child.stdin?.on("error", () => {});
    this.#children.add(child);
    child.on("exit", () => this.#children.delete(child));
    // A child that fails to start must not crash the test process; its exit is what callers watch.
    child.on("error", () => this.#children.delete(child));
    return child;
  }

  #assertOwn(ns: string): void {
    if (ns !== this.scannerNs && ns !== this.targetNs) throw new Error(`namespace ${ns} is not part of this lab`);
  }

  /** Kills this run's processes, deletes this run's namespaces and temp directory. Idempotent, never throws. */
  async teardown(): Promise<void> {
    if (this.#tornDown) return;
    this.#tornDown = true;
    await stopProcesses(this.#children);
    this.#removeNamespacesSync();
    liveLabs.delete(this);
  }

  /** The same, synchronously, for the process "exit" hook. */
  teardownSync(): void {
    this.#tornDown = true;
    for (const child of this.#children) child.kill("SIGKILL");
    this.#removeNamespacesSync();
    liveLabs.delete(this);
  }

  #removeNamespacesSync(): void {
    // Anything still running inside our own namespaces was started by this run: kill it, then delete them.
    for (const ns of this.#created) {
      try {
        const pids = execFileSync("ip", ["netns", "pids", ns], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
        });
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
    for (const ns of this.#created.splice(0).reverse()) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
