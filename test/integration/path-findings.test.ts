// The path from the internet through the product: the inventory (real SDK over HTTP against the fake
// AWS endpoint) resolves each address's path; observations of those targets are recorded in the
// laptop's embedded store; then `exposure exposed`, `exposed --latent` and `history` (child processes,
// as a user runs them) and the alert show what the issue asks: the rule to change with its command, a
// latent exposure (open path, nothing answering, never paged) and a path anomaly (answers although
// the configuration says closed).
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../cli/store-args.ts";
import { notificationFor } from "../../shared/alerts/alert.ts";
import { emailBody } from "../../shared/alerts/render.ts";
import type { StateChangeEvent, Target } from "../../shared/exposure/model.ts";
import { readAwsTargets } from "../../shared/inventory/index.ts";
import { type FakeAwsServer, startFakeAws } from "../fixtures/aws/fake-aws-server.ts";
import { CALLER, httpOrganization } from "../fixtures/aws/http-organization.ts";
import { observation } from "../helpers/observations.ts";

const CLI = fileURLToPath(new URL("../../cli/exposure.ts", import.meta.url));
const ENV_KEYS = [
  "AWS_ENDPOINT_URL",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_REGION",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_EC2_METADATA_DISABLED",
];
const savedEnv = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));
let server: FakeAwsServer;
let dir: string;
let targets: Target[];
const events: StateChangeEvent[] = [];

function exposure(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

const target = (host: string) => {
  const found = targets.find((t) => t.host === host);
  if (!found) throw new Error(`${host} not in the inventory`);
  return found;
};

beforeAll(async () => {
  server = await startFakeAws(httpOrganization());
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: CALLER.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CALLER.secretAccessKey,
    AWS_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
  });
  ({ targets } = await readAwsTargets({ regions: ["us-east-1"], readGlobalAccelerator: false, callTimeoutMs: 10_000 }));
  dir = await mkdtemp(join(tmpdir(), "exposure-path-"));
  const opened = await openStore({ "store-dir": dir });
  try {
    await opened.store.startScan({
      scanId: "scan-1",
      startedAt: "2026-11-25T10:00:00.000Z",
      targets: 4,
      shards: 1,
      accountsRead: [CALLER.accountId],
    });
    const observe = async (host: string, state: Parameters<typeof observation>[0]) => {
      const { port, asset } = target(host);
      const result = await opened.store.recordObservation(
        observation(state, "2026-11-25T10:00:05.000Z", {
          ip: host,
          port,
          target: `${host}:${port}`,
          ...(asset ? { asset } : {}),
        }),
        { scanId: "scan-1" },
      );
      if (result.event) events.push(result.event);
    };
    // Open path (sgr-0b1c2d3e4f5a60001 admits 0.0.0.0/0), Redis answers: exposed, the alert names the rule.
    await observe("54.240.20.1", "open-unauthenticated");
    // Open path, nothing listens (RST): a latent exposure.
    await observe("54.240.20.2", "closed");
    // Path closed by network ACL entry 90, yet something answers: a path anomaly.
    await observe("52.20.40.4", "auth-required");
    // Path closed by the security group, nothing answers: nothing to say.
    await observe("3.210.40.5", "filtered");
  } finally {
    await opened.close();
  }
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe("the path in the product", { timeout: 90_000 }, () => {
  it("the alert for an exposed endpoint names the rule to change and the command that closes it", () => {
    const event = events.find((e) => e.endpoint === "54.240.20.1:6379")!;
    const alert = notificationFor(event)!;
    expect(alert.kind).toBe("newly-unauthenticated");
    expect(alert.asset?.owners).toEqual({ team: "sessions" });
    expect(alert.remediation).toContain(
      "Remove security-group rule sgr-0b1c2d3e4f5a60001 of sg-3f4b5653 (admits 0.0.0.0/0 on TCP 6379) in account 111111111111: `aws ec2 revoke-security-group-ingress --group-id sg-3f4b5653 --security-group-rule-ids sgr-0b1c2d3e4f5a60001 --region us-east-1`.",
    );
    expect(emailBody(alert)).toContain(
      "Path:   open: sgr-0b1c2d3e4f5a60001 (sg-3f4b5653) admits 0.0.0.0/0; acl-5fb85d36 #100; rtb-f9ad4890 -> igw-eaad4883",
    );
  });

  it("an endpoint that answers where the configuration says closed is alerted as a path anomaly", () => {
    const event = events.find((e) => e.endpoint === "52.20.40.4:6379")!;
    expect(event.alerts).toEqual(["path-anomaly", "newly-internet-facing"]);
    const alert = notificationFor(event)!;
    expect(alert.kind).toBe("path-anomaly");
    expect(alert.remediation[0]).toContain("network ACL acl-5fb85d37 entry 90 denies 0.0.0.0/0 on TCP 6379");
  });

  it("a latent exposure makes no event and no alert, and `exposed --latent` lists it with its rule", async () => {
    expect(events.map((e) => e.endpoint).sort()).toEqual(["52.20.40.4:6379", "54.240.20.1:6379"]);
    const latent = await exposure(["exposed", "--latent", "--store-dir", dir]);
    expect(latent.code).toBe(0);
    expect(latent.stdout).toMatch(/^ENDPOINT\s+STATE\s+OBSERVED\s+PATH\s+OWNER\n/);
    expect(latent.stdout.trim().split("\n")).toHaveLength(2);
    expect(latent.stdout).toMatch(
      /54\.240\.20\.2:6379\s+closed\s+2026-11-25T10:00:05\.000Z\s+open sgr-0b1c2d3e4f5a60001\s+111111111111 us-east-1 sessions-redis team=sessions/,
    );
    const json = await exposure(["exposed", "--latent", "--json", "--accounts", CALLER.accountId, "--store-dir", dir]);
    expect(
      json.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).endpoint),
    ).toEqual(["54.240.20.2:6379"]);
  });

  it("`exposed` shows each exposed endpoint's path: the opening rule, or the layer an anomaly bypasses", async () => {
    const { code, stdout } = await exposure(["exposed", "--store-dir", dir]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ENDPOINT\s+EXPOSURE\s+STATE\s+SINCE\s+FINDINGS\s+PATH\s+OWNER/);
    expect(stdout).toMatch(
      /54\.240\.20\.1:6379\s+unauthenticated\s+open-unauthenticated\s+\S+\s+open sgr-0b1c2d3e4f5a60001\s+111111111111 us-east-1 sessions-redis team=sessions/,
    );
    expect(stdout).toMatch(
      /52\.20\.40\.4:6379\s+reachable\s+auth-required\s+\S+\s+closed network-acl\s+111111111111 us-east-1 db-nlb/,
    );
    const history = await exposure(["history", "52.20.40.4:6379", "--store-dir", dir]);
    expect(history.stdout).toMatch(/path-anomaly \(\+newly-internet-facing\)\s+closed network-acl/);
  });

  it("the report lists the latent exposure with the rule and the command that closes it", async () => {
    const { code, stdout } = await exposure([
      "report",
      "--from",
      "2026-11-25T00:00:00Z",
      "--to",
      "2026-11-26T00:00:00Z",
      "--format",
      "md",
      "--store-dir",
      dir,
    ]);
    expect(code).toBe(0);
    const section = stdout.slice(stdout.indexOf("## Latent exposures"));
    expect(section).toContain("| 54.240.20.2:6379 | closed | 2026-11-25T10:00:05.000Z |");
    expect(section).toContain(
      "aws ec2 revoke-security-group-ingress --group-id sg-3f4b5653 --security-group-rule-ids sgr-0b1c2d3e4f5a60001 --region us-east-1",
    );
    // The open finding of the exposed endpoint carries the same command in its remediation.
    const findings = stdout.slice(stdout.indexOf("## Open findings"), stdout.indexOf("## Latent exposures"));
    expect(findings).toContain("54.240.20.1:6379");
    expect(findings).toContain("--security-group-rule-ids sgr-0b1c2d3e4f5a60001");
  });

  it("bad --latent options: one line, exit 2", async () => {
    for (const args of [
      ["exposed", "--accounts", CALLER.accountId, "--store-dir", dir],
      ["exposed", "--latent", "--accounts", "12x", "--store-dir", dir],
    ]) {
      const { code, stdout, stderr } = await exposure(args);
      expect(code).toBe(2);
      expect(stdout).toBe("");
      expect(stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});
