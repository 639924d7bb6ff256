// The `exposure` command as a user runs it: exit codes, one-line errors, and a scan -> scan -> history
// round trip on a store directory (each command starts and stops its own DynamoDB Local).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRedisServer, freePort, type LabServer, LocalLab } from "../../cli/local-lab.ts";

const CLI = join(import.meta.dirname, "../../cli/exposure.ts");

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
    [["scan", "--org", "127.0.0.1"], /--org goes with --aws/],
    [["scan", "--aws", "--regions", "mars-1"], /not a region name/],
    [["scan", "--aws", "127.0.0.1"], /--aws and explicit targets cannot be combined/],
    [["history"], /exactly one TARGET/],
    [["history", "127.0.0.1", "--since", "yesterday"], /--since must be an ISO date/],
    [["exposed", "extra"], /takes no arguments/],
    [["exposed", "--table", "t", "--store-dir", "x"], /cannot be used together/],
  ])("exposure %j", async (args, message) => {
    const { code, stdout, stderr } = await exposure(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    expect(stdout).toBe("");
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
      "server",
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
    const firstReport = JSON.parse(first.stdout);
    expect(firstReport.alerts.map((alert: { kind: string }) => alert.kind)).toContain("newly-unauthenticated");

    const second = await exposure(["scan", "--json", "--store-dir", dir, target]);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).alerts).toEqual([]);

    const history = await exposure(["history", "--json", "--store-dir", dir, target]);
    expect(history.code).toBe(0);
    const events = history.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ endpoint: target, previous: null, current: { state: "open-unauthenticated" } });

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
      // Wait for two cycle reports, then interrupt.
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
      // The store was closed: the DynamoDB Local it started is gone with its server file.
      expect(existsSync(join(watchDir, "dynamodb", "server.json"))).toBe(false);
    } finally {
      rmSync(watchDir, { recursive: true, force: true });
    }
  }, 90_000);
});
