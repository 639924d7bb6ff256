// The published package as a user gets it: `npm pack`, then `npm install <tarball>` into an empty
// prefix (offline: the bundled CLI has no dependencies to fetch), then the installed `exposure` runs
// `--version` and probes a closed port on loopback, with Node.js 22 and nothing from this repository.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const work = mkdtempSync(join(tmpdir(), "exposure-pack-"));
const prefix = join(work, "prefix");
const bin = join(prefix, "node_modules/.bin/exposure");
// Node 22 first on PATH: the installed command's `#!/usr/bin/env node` picks it up.
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
  npm_config_update_notifier: "false",
};

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 300_000 });
  if (result.error) throw result.error;
  return result;
}

function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

let tarball = "";

beforeAll(() => {
  // prepack builds dist/exposure.js first.
  const packed = run("npm", ["pack", "--json", "--pack-destination", work], ROOT);
  expect(packed.status, packed.stderr).toBe(0);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error("npm pack listed no package");
  tarball = join(work, info.filename);
  const installed = run(
    "npm",
    ["install", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball],
    work,
  );
  expect(installed.status, installed.stderr).toBe(0);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed CLI, installed elsewhere", () => {
  it("holds the compiled command and no TypeScript", () => {
    const listed = run("tar", ["-tzf", tarball], work).stdout.trim().split("\n");
    expect(listed).toContain("package/dist/exposure.js");
    expect(listed).toContain("package/package.json");
    expect(listed.filter((path) => path.endsWith(".ts"))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(prefix, "node_modules/exposure-monitor/package.json"), "utf8"));
    expect(manifest.bin).toEqual({ exposure: "dist/exposure.js" });
    expect(manifest.private).toBeUndefined();
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it("prints its version", () => {
    const result = run(bin, ["--version"], work);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
    expect(result.stdout).toBe(`${version}\n`);
  });

  it("probes a closed port on loopback", async () => {
    const port = await closedPort();
    const result = run(bin, ["probe", "--json", `127.0.0.1:${port}`], work);
    expect(result.status, result.stderr).toBe(0);
    const row = JSON.parse(result.stdout.trim());
    expect(row).toMatchObject({ target: `127.0.0.1:${port}`, state: "closed", exposure: "none" });
  });

  it("takes well under 150 MB installed", () => {
    const bytes = sizeOf(prefix);
    expect(bytes).toBeLessThan(20 * 1024 * 1024);
  });

  it("rejects bad input the same way as from source", () => {
    const result = run(bin, ["prob"], work);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });
});
