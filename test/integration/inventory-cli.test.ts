// `exposure inventory` as a user runs it: a child process whose only link to "AWS" is the
// standard environment (credentials and AWS_ENDPOINT_URL pointing at a local fake). Option
// parsing in detail is tested in-process (test/unit/inventory-config.test.ts).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Target } from "../../shared/exposure/model.ts";
import { type FakeAwsServer, startFakeAws } from "../fixtures/aws/fake-aws-server.ts";
import {
  CALLER,
  DENIED,
  decidedBy,
  EXPECTED_PATHS,
  EXPECTED_TARGETS,
  httpOrganization,
  MEMBER,
} from "../fixtures/aws/http-organization.ts";

const CLI = fileURLToPath(new URL("../../cli/exposure.ts", import.meta.url));
let server: FakeAwsServer;

beforeAll(async () => {
  server = await startFakeAws(httpOrganization({ hangingRegion: `${MEMBER}/eu-west-1` }));
});
afterAll(async () => {
  await server?.close();
});

function awsEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: "/nonexistent-home",
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: CALLER.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CALLER.secretAccessKey,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function exposure(args: string[], env = awsEnv()) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 80_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// Loading the AWS SDK in a fresh process takes seconds on a busy 2-core machine: generous limits.
describe.concurrent("exposure inventory", { timeout: 90_000 }, () => {
  it("--json prints one target per line on stdout and the summary as one JSON line on stderr", async () => {
    const { code, stdout, stderr } = await exposure(["inventory", "--org", "--json", "--call-timeout", "6s"]);
    expect(code).toBe(0);
    const targets = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Target);
    expect(
      targets.map((t) => [t.host, t.asset?.accountId, t.asset?.region, t.asset?.resourceType, t.asset?.resourceId]),
    ).toEqual(EXPECTED_TARGETS);
    // Each target carries its path: the verdict and the rule (or layer) that decides it.
    expect(Object.fromEntries(targets.map((t) => [t.host, decidedBy(t.asset?.path)]))).toEqual(EXPECTED_PATHS);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    const { summary } = JSON.parse(lines[0]!) as {
      summary: { gaps: { accountId?: string; region?: string; source: string }[] };
    };
    expect(summary.gaps.map((g) => [g.accountId, g.region, g.source])).toEqual([
      [MEMBER, "eu-west-1", "ec2:DescribeNetworkInterfaces"],
      [DENIED, undefined, "sts:AssumeRole"],
    ]);
  });

  it("prints a table and the coverage summary, and --strict fails on gaps", async () => {
    const { code, stdout } = await exposure([
      "inventory",
      "--org",
      "--call-timeout",
      "6s",
      "--strict",
      "--ports",
      "6379,6380",
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^ENDPOINT\s+ACCOUNT\s+REGION\s+TYPE\s+RESOURCE\s+NAME\s+PATH/);
    expect(stdout).toMatch(
      /54\.240\.20\.1:6379\s+111111111111\s+us-east-1\s+ec2-instance\s+i-1234567890abcdef0\s+sessions-redis\s+open sgr-0b1c2d3e4f5a60001/,
    );
    // The rule admits 6379 only.
    expect(stdout).toMatch(
      /54\.240\.20\.1:6380\s+111111111111\s+us-east-1\s+ec2-instance\s+i-1234567890abcdef0\s+sessions-redis\s+closed security-group/,
    );
    expect(stdout).toMatch(/\[2600:1f18:4a3:6a01::123\]:6379/);
    expect(stdout).toContain("24 targets (12 public addresses) from 2/3 accounts");
    expect(stdout).toContain("paths: 3 open, 11 closed, 10 unknown");
    expect(stdout).toContain("coverage gaps: 2");
    expect(stdout).toMatch(/333333333333\s+sts:AssumeRole\s+AccessDenied/);
  });

  it("says in one line when the credentials are rejected, exit 1", async () => {
    const { code, stdout, stderr } = await exposure(
      ["inventory"],
      awsEnv({ AWS_ACCESS_KEY_ID: "AKIAWRONGKEYEXAMPLE" }),
    );
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(
      /^exposure: cannot use the AWS credentials \(sts:GetCallerIdentity\): InvalidClientTokenId: .*\n$/,
    );
  });

  it("says in one line when there are no credentials at all, exit 1", async () => {
    const { code, stderr } = await exposure(
      ["inventory"],
      awsEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }),
    );
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/^exposure: cannot use the AWS credentials/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [["inventory", "--ports", "6379,x"], /--ports must be a whole number/],
    [["inventory", "--frobnicate"], /Unknown option '--frobnicate'/],
  ])("rejects %j with exit 2 and one line", async (args, message) => {
    const { code, stdout, stderr } = await exposure(args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(message);
  });
});
