// Scanner habits of the `exposure` command, as a user meets them: "did you mean", targets from standard
// input (inventory and probe JSON lines too), exclusions, --open and the summary line, -q/-v, relative
// paths from where npm was run, timestamps on watch cycles. Probes only closed ports on loopback.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const CLI = join(ROOT, "cli/exposure.ts");
const dir = mkdtempSync(join(tmpdir(), "exposure-habits-"));
let closed: number[] = [];

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

function exposure(args: string[], options: { input?: string; cwd?: string; env?: Record<string, string> } = {}) {
  const { npm_lifecycle_event: _event, INIT_CWD: _init, ...env } = process.env;
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    cwd: options.cwd ?? dir,
    input: options.input ?? "",
    env: { ...env, ...options.env },
  });
}

beforeAll(async () => {
  closed = [await closedPort(), await closedPort(), await closedPort()];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("scanner habits", () => {
  it("suggests the command meant", () => {
    const result = exposure(["prbe", "127.0.0.1"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('exposure: unknown command "prbe": did you mean "probe"?\n');
  });

  it("reads targets from standard input, inventory and probe JSON lines included, less the exclusions", () => {
    const [a, b, c] = closed;
    const input = [
      `{"host":"127.0.0.1","port":${a},"asset":{"provider":"aws","accountId":"111122223333","tags":{"note":"# not a comment"}}}`,
      `{"target":"127.0.0.1:${b}","ip":"127.0.0.1","port":${b},"state":"closed"}`,
      `127.0.0.1:${c}   # a plain line`,
    ].join("\n");
    const result = exposure(["probe", "--json", "--targets", "-", "--exclude", `127.0.0.1:${b}`], { input });
    expect(result.status, result.stderr).toBe(0);
    const probed = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line).target)
      .sort();
    expect(probed).toEqual([`127.0.0.1:${a}`, `127.0.0.1:${c}`].sort());

    const all = exposure(["probe", "--targets", "-", "--exclude", "127.0.0.0/8"], { input });
    expect(all.status).toBe(2);
    expect(all.stderr).toBe("exposure: every target is excluded (--exclude/--exclude-file)\n");
    writeFileSync(join(dir, "skip.txt"), `# owned by the lab\n127.0.0.1:${a}\n127.0.0.1:${c}\n`);
    const fromFile = exposure(["probe", "--json", "--targets", "-", "--exclude-file", "skip.txt"], { input });
    expect(
      fromFile.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).target),
    ).toEqual([`127.0.0.1:${b}`]);
    expect(exposure(["probe", "--targets", "-"], { input: "{not json\n" }).stderr).toBe(
      "exposure: targets line 1: not valid JSON\n",
    );
  });

  it("--open lists only what answered, a summary line goes to stderr, -q silences it, -v adds the reply", () => {
    const targets = closed.map((port) => `127.0.0.1:${port}`);
    const open = exposure(["probe", "--open", ...targets]);
    expect(open.status).toBe(0);
    expect(open.stdout).toBe("no open targets\n");
    expect(open.stderr).toBe("3 targets: 3 closed\n");
    const quiet = exposure(["probe", "--open", "-q", ...targets]);
    expect(quiet.stdout).toBe("");
    expect(quiet.stderr).toBe("");
    const verbose = exposure(["probe", "-v", targets[0]!]);
    expect(verbose.stdout).toMatch(/REPLY\n127\.0\.0\.1:\d+ +closed .*ECONNREFUSED/);
    expect(exposure(["probe", "-q", "-v", targets[0]!]).status).toBe(2);
  });

  it("resolves relative paths from where npm was run (INIT_CWD), not the package root", () => {
    const here = mkdtempSync(join(dir, "user-"));
    writeFileSync(join(here, "fleet.txt"), `127.0.0.1:${closed[0]}\n`);
    const result = exposure(["probe", "--json", "--targets", "fleet.txt"], {
      cwd: ROOT,
      env: { INIT_CWD: here, npm_lifecycle_event: "exposure" },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).target).toBe(`127.0.0.1:${closed[0]}`);
  });

  it("stamps each watch cycle with its start time", () => {
    const result = exposure(["watch", "--cycles", "1", "--store-dir", join(dir, "store"), `127.0.0.1:${closed[0]}`]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z scan \S+: 1 targets \(1 closed\)/);
  });
});
