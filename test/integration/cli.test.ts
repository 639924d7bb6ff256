// The `exposure` command as a user runs it: exit codes, one-line errors, and a scan -> scan -> history
// round trip on a store directory (each command opens the embedded store's file in its own process).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRedisServer, freePort, type LabServer, LocalLab } from "../../cli/local-lab.ts";

const CLI = join(import.meta.dirname, "../../cli/exposure.ts");
/** A store directory nobody made (the read commands must refuse it and create nothing there). */
const MISSING_STORE = join(tmpdir(), `exposure-no-store-${process.pid}-${Date.now()}`, ".exposure");

function exposure(args: string[], cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `pid` and every process below it (a store server would be a child process, as DynamoDB Local was). */
function processTree(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/** The TCP sockets in LISTEN state and the bound UDP sockets held by `pid` or its descendants. */
function listeningSockets(pid: number): string[] {
  const found: string[] = [];
  for (const member of processTree(pid)) {
    const inodes = new Set<string>();
    try {
      for (const fd of readdirSync(`/proc/${member}/fd`)) {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${member}/fd/${fd}`));
        if (match) inodes.add(match[1]!);
      }
      for (const proto of ["tcp", "tcp6", "udp", "udp6"]) {
        for (const line of readFileSync(`/proc/${member}/net/${proto}`, "utf8").split("\n").slice(1)) {
          const fields = line.trim().split(/\s+/);
          const listens = proto.startsWith("tcp") ? fields[3] === "0A" : true;
          if (fields.length > 9 && listens && inodes.has(fields[9]!)) found.push(`${member} ${proto} ${fields[1]}`);
        }
      }
    } catch {
      // the process or one of its descriptors went away meanwhile
    }
  }
  return found;
}

describe("bad input: one line on stderr, exit 2, nothing done", () => {
  it.each([
    [["nonsense"], /unknown command "nonsense"/],
    [["probe"], /no targets given/],
    [["probe", "999.1.1.1"], /not a valid IPv4 address/],
    [["probe", "10.0.0.0/8"], /too large/],
    [["probe", "--bogus", "127.0.0.1"], /Unknown option '--bogus'/],
    [["probe", "--timeout-ms", "soon", "127.0.0.1"], /--timeout-ms must be a whole number/],
    [["probe", "--fail-on", "none", "127.0.0.1"], /--fail-on must be/],
    [["probe", "--targets", "/nonexistent/targets.txt"], /cannot read targets file/],
    [["scan", "--alert-webhook", "ftp://x", "127.0.0.1"], /--alert-webhook must be an http\(s\) URL/],
    [["watch", "--interval", "often", "127.0.0.1"], /--interval must be a duration/],
    // Beyond what a timer holds (2^31-1 ms), a timer fires at once, in a loop.
    [["watch", "--interval", "25d", "127.0.0.1"], /--interval must be at most 24d/],
    [["scan", "--fail-on", "none", "127.0.0.1"], /--fail-on must be "reachable" or "unauthenticated"/],
    [["watch", "--fail-on", "open", "127.0.0.1"], /--fail-on must be/],
    [["exposed", "--fail-on", "everything"], /--fail-on must be/],
    [["scan", "--org", "127.0.0.1"], /--org goes with --aws/],
    [["scan", "--aws", "--regions", "mars-1"], /not a region name/],
    [["scan", "--aws", "127.0.0.1"], /--aws and explicit targets cannot be combined/],
    [["history"], /exactly one TARGET/],
    [["history", "127.0.0.1", "--since", "yesterday"], /--since must be an ISO date/],
    [["exposed", "extra"], /takes no arguments/],
    [["exposed", "--table", "t", "--store-dir", "x"], /cannot be used together/],
    // The read commands refuse a store directory with no store in it (and create nothing there).
    [["exposed", "--store-dir", MISSING_STORE], /no store in \S+ \(nothing recorded yet/],
    [["history", "--store-dir", MISSING_STORE, "127.0.0.1"], /no store in \S+ \(nothing recorded yet/],
    [["report", "--month", "2026-01", "--store-dir", MISSING_STORE], /no store in \S+ \(nothing recorded yet/],
    [["findings", "--store-dir", MISSING_STORE], /no store in \S+ \(nothing recorded yet/],
  ])("exposure %j", async (args, message) => {
    const { code, stdout, stderr } = await exposure(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    expect(stdout).toBe("");
    expect(existsSync(dirname(MISSING_STORE))).toBe(false);
  });

  it("prints help with exit 0", async () => {
    const { code, stdout } = await exposure(["probe", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("usage: exposure probe");
  });
});

describe("a user's round trip", () => {
  let lab: LocalLab;
  let open: LabServer;
  let dir: string;
  let closedPort: number;

  beforeAll(async () => {
    const binary = findRedisServer();
    if (!binary) throw new Error("redis-server is not installed (Debian: apt-get install redis-server)");
    lab = new LocalLab(binary);
    open = await lab.add("open", null);
    closedPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), "exposure-cli-test-"));
  }, 60_000);

  afterAll(async () => {
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("probe --json and --fail-on", async () => {
    const target = `127.0.0.1:${open.port}`;
    const { code, stdout } = await exposure([
      "probe",
      "--json",
      "--fail-on",
      "unauthenticated",
      target,
      `127.0.0.1:${closedPort}`,
    ]);
    expect(code).toBe(3);
    const lines = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.target, line.state]).sort()).toEqual(
      [
        [target, "open-unauthenticated"],
        [`127.0.0.1:${closedPort}`, "closed"],
      ].sort(),
    );
    const probed = lines.find((line) => line.target === target);
    expect(Object.keys(probed)).toEqual([
      "target",
      "ip",
      "port",
      "state",
      "exposure",
      "tls",
      "protocol",
      "findings",
      "reply",
      "durationMs",
      "observedAt",
    ]);
    expect(probed.reply).toBe("+PONG");
  });

  it("scan alerts once, the second scan stays quiet, history and alerts.jsonl show it", async () => {
    const target = `127.0.0.1:${open.port}`;
    const first = await exposure(["scan", "--json", "--store-dir", dir, target]);
    expect(first.stderr).toContain("newly-unauthenticated");
    expect(first.code).toBe(0);
    // One object per target as it is probed, then the cycle's {scan, alerts}.
    const [probed, firstReport] = first.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(probed).toMatchObject({ target, state: "open-unauthenticated", exposure: "unauthenticated" });
    expect(firstReport.alerts.map((alert: { kind: string }) => alert.kind)).toContain("newly-unauthenticated");

    const second = await exposure(["scan", "--json", "--store-dir", dir, target]);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout.trim().split("\n").at(-1)!).alerts).toEqual([]);

    const history = await exposure(["history", "--json", "--store-dir", dir, target]);
    expect(history.code).toBe(0);
    const events = history.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ endpoint: target, previous: null, current: { state: "open-unauthenticated" } });

    // --fail-on: exit 3 when an endpoint is that exposed, for pipelines; scan and exposed alike.
    const failing = await exposure(["scan", "--json", "--fail-on", "unauthenticated", "--store-dir", dir, target]);
    expect(failing.code).toBe(3);
    expect((await exposure(["exposed", "--fail-on", "reachable", "--store-dir", dir])).code).toBe(3);
    expect((await exposure(["exposed", "--store-dir", dir])).code).toBe(0);
    const quiet = await exposure(["scan", "--fail-on", "reachable", "--store-dir", dir, `127.0.0.1:${closedPort}`]);
    expect(quiet.code).toBe(0);

    // The delivery ledger and watermark live in the store's file, not in files beside it.
    expect(readdirSync(dir).sort()).toEqual(["alerts.jsonl", "store.sqlite"]);
    const alerts = readFileSync(join(dir, "alerts.jsonl"), "utf8").trim().split("\n");
    expect(alerts.map((line) => JSON.parse(line).kind).sort()).toEqual(
      firstReport.alerts.map((alert: { kind: string }) => alert.kind).sort(),
    );
  }, 90_000);
  it("watch runs cycles until Ctrl-C, then finishes the cycle and closes the store", async () => {
    const watchDir = mkdtempSync(join(tmpdir(), "exposure-watch-test-"));
    try {
      const child = spawn(
        process.execPath,
        [CLI, "watch", "--interval", "1s", "--json", "--store-dir", watchDir, `127.0.0.1:${open.port}`],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      // Wait for two cycle reports (looking at the process's sockets meanwhile), then interrupt.
      let listening: string[] | null = null;
      child.stdout.once("data", () => {
        listening = listeningSockets(child.pid!);
      });
      // A read command on the same store while watch runs (one file, two processes).
      let readWhileWatching: Promise<Awaited<ReturnType<typeof exposure>>> | null = null;
      child.stdout.once("data", () => {
        readWhileWatching = exposure(["exposed", "--json", "--store-dir", watchDir]);
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no two cycles in time; stderr: ${stderr}`)), 60_000);
        child.stdout.on("data", (chunk) => {
          stdout += chunk;
          if (stdout.trim().split("\n").length >= 2) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const read = await readWhileWatching!;
      expect(read.code).toBe(0);
      expect(read.stderr).toBe("");
      expect(JSON.parse(read.stdout.trim().split("\n")[0]!)).toMatchObject({ endpoint: `127.0.0.1:${open.port}` });
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(stderr).toContain("stopping after the current cycle");
      const cycles = stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(cycles.length).toBeGreaterThanOrEqual(2);
      expect(cycles[0].alerts.map((alert: { kind: string }) => alert.kind)).toContain("newly-unauthenticated");
      expect(cycles[1].alerts).toEqual([]);
      // While it ran, it listened on no port at all (the store is a file in the process, not a server).
      // The same look at this test's own process finds the lab's redis-server listening: the check sees listeners.
      expect(listening).toEqual([]);
      expect(
        listeningSockets(process.pid).some((socket) =>
          socket.includes(`:${open.port.toString(16).toUpperCase().padStart(4, "0")}`),
        ),
      ).toBe(true);
      // The store was closed: closing the last connection folds the write-ahead log into the file and removes it.
      expect(existsSync(join(watchDir, "store.sqlite"))).toBe(true);
      expect(existsSync(join(watchDir, "store.sqlite-wal"))).toBe(false);
    } finally {
      rmSync(watchDir, { recursive: true, force: true });
    }
  }, 90_000);
});
