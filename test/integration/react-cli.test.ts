// `exposure react`: every catalog event resolved by the command (in-process, its JSON output) against the
// fake AWS endpoint over HTTP; and as a user runs it (a child process): the table of targets with owners,
// an unreadable account named, irrelevant events and failed calls resolving to nothing (exit 0), and bad
// input as one line with exit 2.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { run } from "../../cli/commands/react.ts";
import { CATALOG_CASES, cloudTrailEvent, IRRELEVANT_EVENTS, STOP_EVENTS } from "../fixtures/aws/cloudtrail-events.ts";
import { type FakeAwsServer, startFakeAws } from "../fixtures/aws/fake-aws-server.ts";
import { fastPathWorld } from "../fixtures/aws/http-fastpath.ts";
import { CALLER, DENIED } from "../fixtures/aws/http-organization.ts";

const CLI = fileURLToPath(new URL("../../cli/exposure.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "exposure-react-"));
let server: FakeAwsServer;
const ENV_KEYS = [
  "AWS_ENDPOINT_URL",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_PROFILE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_EC2_METADATA_DISABLED",
];
const saved = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));

function awsEnv(): Record<string, string> {
  return {
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: CALLER.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CALLER.secretAccessKey,
  };
}

beforeAll(async () => {
  server = await startFakeAws(fastPathWorld());
  for (const key of ENV_KEYS) delete process.env[key];
  Object.assign(process.env, awsEnv());
});
afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await server?.close();
});

function eventFile(name: string, event: unknown): string {
  const file = join(dir, `${name.replace(/\W+/g, "-")}.json`);
  writeFileSync(file, typeof event === "string" ? event : JSON.stringify(event, null, 2));
  return file;
}

async function runInProcess(args: string[]): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    const code = await run(args);
    return { code, stdout: chunks.join("") };
  } finally {
    spy.mockRestore();
  }
}

function exposure(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH, HOME: "/nonexistent-home", ...awsEnv() }, timeout: 80_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("exposure react", () => {
  it("resolves every catalog event to its endpoints and owners (--dry-run --json)", async () => {
    for (const [name, fixture] of Object.entries(CATALOG_CASES)) {
      const { code, stdout } = await runInProcess(["--event", eventFile(name, fixture.event), "--dry-run", "--json"]);
      expect(code, name).toBe(0);
      const output = JSON.parse(stdout) as {
        dryRun: boolean;
        routed: Array<{
          name: string;
          targets: Array<{ host: string; asset: { accountId: string } }>;
          gaps: unknown[];
        }>;
      };
      expect(output.dryRun).toBe(true);
      expect(output.routed, name).toHaveLength(1);
      expect(output.routed[0]!.name).toBe(name);
      expect(output.routed[0]!.gaps, name).toEqual([]);
      expect(output.routed[0]!.targets.map((t) => t.host).sort(), name).toEqual([...fixture.hosts].sort());
      expect(output.routed[0]!.targets.every((t) => t.asset.accountId === "222222222222")).toBe(true);
    }
  }, 120_000);

  it("prints the targets with their owners as a table, and what it could not read", async () => {
    const sg = await exposure([
      "react",
      "--event",
      eventFile("sg", CATALOG_CASES.AuthorizeSecurityGroupIngress!.event),
      "--dry-run",
    ]);
    expect(sg.code).toBe(0);
    expect(sg.stdout).toMatch(/AuthorizeSecurityGroupIngress in 222222222222 us-east-1: 3 targets/);
    expect(sg.stdout).toMatch(
      /35\.171\.0\.10:6379\s+222222222222\s+us-east-1\s+ec2-instance\s+i-0aa0000000000001\s+sessions-redis/,
    );
    expect(sg.stdout).toMatch(/\[2600:1f18:4a3:6a01::10\]:6379/);
    const denied = cloudTrailEvent(
      "aws.ec2",
      "ModifyInstanceAttribute",
      { instanceId: "i-1", groupSet: { items: [] } },
      {},
      { account: DENIED },
    );
    const out = await exposure(["react", "--event", eventFile("denied", denied), "--dry-run"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/0 targets/);
    expect(out.stdout).toMatch(/could not read 333333333333 \(sts:AssumeRole\): AccessDenied/);
  }, 120_000);

  it("an irrelevant event, a failed call and an address release resolve to nothing and exit 0 (probing nothing)", async () => {
    for (const [name, event] of Object.entries(IRRELEVANT_EVENTS).slice(0, 3)) {
      const { code, stdout } = await runInProcess(["--event", eventFile(name, event), "--dry-run"]);
      expect(code, name).toBe(0);
      expect(stdout, name).toMatch(/resolves to nothing \(.+\)/);
    }
    const storeDir = join(dir, "store");
    const failed = await exposure([
      "react",
      "--event",
      eventFile("failed", IRRELEVANT_EVENTS["a failed call"]),
      "--store-dir",
      storeDir,
    ]);
    expect(failed.code).toBe(0);
    expect(failed.stdout).toMatch(/resolves to nothing \(AuthorizeSecurityGroupIngress failed/);
    const release = await exposure([
      "react",
      "--event",
      eventFile("release", STOP_EVENTS.ReleaseAddress),
      "--store-dir",
      storeDir,
    ]);
    expect(release.code).toBe(0);
    expect(release.stdout).toMatch(/stops pending probes of: allocation:eipalloc-0000000000000002/);
  }, 120_000);

  it("bad input is one line on stderr and exit 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["react"], /--event FILE is required/],
      [["react", "--event", join(dir, "missing.json")], /cannot read event file .*missing\.json \(ENOENT\)/],
      [["react", "--event", eventFile("not-json", "{ not json")], /is not JSON/],
      [["react", "--event", eventFile("array", "[1, 2]")], /does not hold one EventBridge event/],
      [["react", "--event", eventFile("x", "{}"), "--bogus"], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr, stdout } = await exposure(args);
      expect(code, args.join(" ")).toBe(2);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toMatch(message);
      expect(stdout).toBe("");
    }
  }, 120_000);
});
