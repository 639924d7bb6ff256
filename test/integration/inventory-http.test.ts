// Drives the real SDK clients (serialization, signing, retries, pagination, XML and JSON
// parsing) over HTTP against a local fake AWS endpoint, selected only through the standard
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> settings and credentials from the environment.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { INVENTORY_READ_ACTIONS, ORGANIZATION_READ_ACTIONS } from "../../infra/member-role-actions.ts";
import { createAwsClientFactory } from "../../shared/inventory/clients.ts";
import { enumeratePublicTargets, InventoryCredentialsError } from "../../shared/inventory/enumerate.ts";
import { readAwsTargets } from "../../shared/inventory/index.ts";
import { type FakeAwsServer, startFakeAws } from "../fixtures/aws/fake-aws-server.ts";
import {
  CALLER,
  DENIED,
  EXPECTED_TARGETS,
  httpOrganization,
  MEMBER,
  MEMBER_ACCESS_KEY,
} from "../fixtures/aws/http-organization.ts";

const ENV_KEYS = [
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_EC2",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_PROFILE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_EC2_METADATA_DISABLED",
];
const savedEnv = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));
const servers: FakeAwsServer[] = [];

beforeAll(() => {
  for (const key of ENV_KEYS) delete process.env[key];
  // Credentials come from the standard chain (here: its environment provider), never from a file or IMDS.
  process.env.AWS_ACCESS_KEY_ID = CALLER.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = CALLER.secretAccessKey;
  process.env.AWS_REGION = "us-east-1";
  process.env.AWS_CONFIG_FILE = "/nonexistent/aws-config";
  process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/aws-credentials";
  process.env.AWS_EC2_METADATA_DISABLED = "true";
});

afterEach(async () => {
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_ENDPOINT_URL_EC2;
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

afterAll(() => {
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

async function fake(handler: Parameters<typeof startFakeAws>[0]) {
  const server = await startFakeAws(handler);
  servers.push(server);
  return server;
}

describe("inventory over HTTP against a fake AWS endpoint", () => {
  it("enumerates the organization end to end: pagination, assumed roles, throttling retried, gaps recorded", async () => {
    const server = await fake(
      httpOrganization({
        throttleFirst: [`${MEMBER}/us-east-1/DescribeNetworkInterfaces`, `${CALLER.accountId}/us-east-1/GetInstances`],
        hangingRegion: `${MEMBER}/eu-west-1`,
      }),
    );
    process.env.AWS_ENDPOINT_URL = server.url;

    const { targets, summary } = await readAwsTargets({
      accounts: { kind: "organization" },
      externalId: "exposure-monitor-ext",
      callTimeoutMs: 6_000,
    });

    expect(
      targets.map((t) => [t.host, t.asset?.accountId, t.asset?.region, t.asset?.resourceType, t.asset?.resourceId]),
    ).toEqual(EXPECTED_TARGETS);
    expect(targets.every((t) => t.port === 6379)).toBe(true);
    expect(targets.find((t) => t.host === "54.240.20.1")?.asset?.name).toBe("sessions-redis");
    expect(targets.find((t) => t.host === "34.193.8.8")?.asset?.tags).toEqual({ Name: "reserved-for-failover" });

    expect(summary.gaps.map((g) => [g.accountId, g.region, g.source])).toEqual([
      [MEMBER, "eu-west-1", "ec2:DescribeNetworkInterfaces"],
      [DENIED, undefined, "sts:AssumeRole"],
    ]);
    expect(summary.gaps[0]!.error).toMatch(/no answer within 6000 ms/);
    expect(summary.gaps[1]!.error).toMatch(/^AccessDenied: User: .* is not authorized to perform: sts:AssumeRole/);
    expect(summary.accountsRead).toEqual([CALLER.accountId, MEMBER]);
    expect(summary.regionsRead).toEqual(["eu-west-1", "us-east-1"]);
    expect(summary.counts.nonPublicDropped).toBe(1); // fd00:ec2::21

    const calls = server.calls;
    // The throttled calls were retried by the SDK and then succeeded.
    const memberInterfaces = calls.filter(
      (c) =>
        c.action === "DescribeNetworkInterfaces" && c.accessKeyId === MEMBER_ACCESS_KEY && c.region === "us-east-1",
    );
    expect(memberInterfaces).toHaveLength(2);
    expect(
      calls.filter(
        (c) => c.action === "GetInstances" && c.accessKeyId === CALLER.accessKeyId && c.region === "us-east-1",
      ),
    ).toHaveLength(3);

    // Query protocol serialization and pagination for EC2.
    const callerInterfaces = calls.filter(
      (c) =>
        c.action === "DescribeNetworkInterfaces" && c.accessKeyId === CALLER.accessKeyId && c.region === "us-east-1",
    );
    expect(callerInterfaces.map((c) => c.params.get("NextToken"))).toEqual([
      null,
      "eyJ2IjoiMiIsImMiOiJleGFtcGxlLXBhZ2UtMiJ9",
    ]);
    expect(callerInterfaces[0]!.params.get("Version")).toBe("2016-11-15");
    expect(callerInterfaces[0]!.params.get("MaxResults")).toBe("1000");
    expect(calls.find((c) => c.action === "DescribeRegions")!.params.get("AllRegions")).toBe("true");
    expect(calls.some((c) => c.region === "af-south-1")).toBe(false);

    // JSON 1.1 serialization and pagination for Organizations and Lightsail.
    const listAccounts = calls.filter((c) => c.action === "ListAccounts");
    expect(listAccounts.map((c) => c.json.NextToken)).toEqual([undefined, "AAQAAaccountspage2EXAMPLE"]);
    expect(listAccounts[0]!.headers["x-amz-target"]).toBe("AWSOrganizationsV20161128.ListAccounts");
    expect(listAccounts[0]!.headers["content-type"]).toBe("application/x-amz-json-1.1");
    expect(calls.filter((c) => c.action === "GetInstances" && c.json.pageToken === "lightsail-page-2")).toHaveLength(1);
    expect(calls.find((c) => c.action === "ListAccelerators")!.region).toBe("us-west-2");

    // AssumeRole: the role ARN, external id and session name on the wire; member calls signed with the assumed keys.
    const assumeRoles = calls.filter((c) => c.action === "AssumeRole");
    expect(assumeRoles.map((c) => c.params.get("RoleArn")).sort()).toEqual([
      `arn:aws:iam::${MEMBER}:role/ExposureMonitorReadOnly`,
      `arn:aws:iam::${DENIED}:role/ExposureMonitorReadOnly`,
    ]);
    expect(assumeRoles.every((c) => c.params.get("ExternalId") === "exposure-monitor-ext")).toBe(true);
    expect(assumeRoles[0]!.params.get("Version")).toBe("2011-06-15");
    const memberCalls = calls.filter((c) => c.accessKeyId === MEMBER_ACCESS_KEY);
    expect(memberCalls.length).toBeGreaterThan(4);
    expect(memberCalls.every((c) => typeof c.headers["x-amz-security-token"] === "string")).toBe(true);
    // Every API the inventory called is one the documented roles grant (SigV4 service names are the IAM prefixes).
    expect(new Set(calls.map((c) => `${c.service}:${c.action}`))).toEqual(
      new Set([...INVENTORY_READ_ACTIONS, ...ORGANIZATION_READ_ACTIONS, "sts:GetCallerIdentity", "sts:AssumeRole"]),
    );
    expect(new Set(memberCalls.map((c) => `${c.service}:${c.region}`))).toEqual(
      new Set([
        "ec2:us-east-1",
        "ec2:eu-west-1",
        "lightsail:us-east-1",
        "lightsail:eu-west-1",
        "globalaccelerator:us-west-2",
      ]),
    );
  });

  it("honours AWS_ENDPOINT_URL_EC2 over AWS_ENDPOINT_URL for EC2 only", async () => {
    const general = await fake(httpOrganization());
    const ec2Only = await fake(httpOrganization());
    process.env.AWS_ENDPOINT_URL = general.url;
    process.env.AWS_ENDPOINT_URL_EC2 = ec2Only.url;
    const clients = createAwsClientFactory();
    try {
      const { targets, summary } = await enumeratePublicTargets({ callTimeoutMs: 6_000 }, clients);
      expect(summary.gaps).toEqual([]);
      expect(targets.length).toBeGreaterThan(0);
    } finally {
      clients.destroy();
    }
    expect(new Set(ec2Only.calls.map((c) => c.service))).toEqual(new Set(["ec2"]));
    expect(general.calls.some((c) => c.service === "ec2")).toBe(false);
    expect(new Set(general.calls.map((c) => c.service))).toEqual(new Set(["sts", "lightsail", "globalaccelerator"]));
  });

  it("fails with a credentials error when the caller's keys are rejected", async () => {
    const server = await fake(httpOrganization());
    process.env.AWS_ENDPOINT_URL = server.url;
    await expect(
      readAwsTargets({}, { credentials: { accessKeyId: "AKIAWRONGKEYEXAMPLE", secretAccessKey: "nope" } }),
    ).rejects.toThrow(InventoryCredentialsError);
    expect(server.calls.map((c) => c.action)).toEqual(["GetCallerIdentity"]);
  });
});
