// `exposure ack` / `exposure unack` as a user runs them on a local store: bad input is one line and
// exit 2 before anything is written; an acknowledgement is stored, listed by history, and ended by unack.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const CLI = join(import.meta.dirname, "../../cli/exposure.ts");
const dir = mkdtempSync(join(tmpdir(), "exposure-ack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function exposure(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd: dir });
}

describe("exposure ack / unack", () => {
  it.each([
    [["ack", "203.0.113.10:6379", "--until", "30d"], /--reason is required/],
    [["ack", "203.0.113.10:6379", "--reason", "demo"], /--until is required/],
    [["ack", "203.0.113.10:6379", "--reason", "demo", "--until", "2020-01-01"], /--until must be in the future/],
    [["ack", "203.0.113.10:6379", "--reason", "demo", "--until", "5y"], /--until must be an ISO date/],
    [["ack", "203.0.113.10:6379", "--reason", "demo", "--until", "400d"], /at most 366 days ahead/],
    [["ack", "redis.example.com:6379", "--reason", "demo", "--until", "30d"], /an IP address and port, not a name/],
    [["ack", "203.0.113.0/24", "--reason", "demo", "--until", "30d"], /one endpoint, not a block/],
    [["unack"], /exactly one TARGET/],
  ])("exposure %j: one line, exit 2", (args, message) => {
    const result = exposure([...args, "--store-dir", join(dir, "bad")]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("stores an acknowledgement, shows it in history, and unack ends it once", () => {
    const store = ["--store-dir", join(dir, "store")];
    const made = exposure([
      "ack",
      "203.0.113.10",
      "--reason",
      "red team honeypot",
      "--until",
      "30d",
      "--by",
      "alice",
      ...store,
    ]);
    expect(made.stderr).toBe("");
    expect(made.status).toBe(0);
    expect(made.stdout).toMatch(/^203\.0\.113\.10:6379 acknowledged until \d{4}-.*Z by alice: red team honeypot\n$/);
    const history = exposure(["history", "203.0.113.10:6379", ...store]);
    expect(history.status).toBe(0);
    expect(history.stdout).toContain("acknowledgements in the range");
    expect(history.stdout).toMatch(/203\.0\.113\.10:6379 .* alice +red team honeypot/);
    const ended = exposure(["unack", "203.0.113.10:6379", "--by", "bob", ...store]);
    expect(ended.status).toBe(0);
    expect(ended.stdout).toBe("203.0.113.10:6379: acknowledgement by alice ended by bob\n");
    const again = exposure(["unack", "203.0.113.10:6379", ...store]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe("exposure: 203.0.113.10:6379 has no acknowledgement in force\n");
  });
});
