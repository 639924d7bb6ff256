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
  decidedBy,
  EXPECTED_PATHS,
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
    // Names and owner tags from the instance (ec2:DescribeInstances), not the interface; the RDS interface by its DB.
    expect(targets.find((t) => t.host === "54.240.20.1")?.asset).toMatchObject({
      name: "sessions-redis",
      owners: { team: "sessions" },
    });
    expect(targets.find((t) => t.host === "35.171.0.10")?.asset).toMatchObject({
      name: "payments-cache",
      owners: { Owner: "payments@example.com" },
    });
    expect(targets.find((t) => t.host === "3.210.40.5")?.asset).toMatchObject({
      name: "orders-db",
      owners: { team: "orders" },
    });
    // Every address's path verdict on 6379, with the rule or layer that decides it.
    expect(Object.fromEntries(targets.map((t) => [t.host, decidedBy(t.asset?.path)]))).toEqual(EXPECTED_PATHS);
    expect(targets.find((t) => t.host === "54.240.20.1")?.asset?.path).toEqual({
      verdict: "open",
      scope: "any",
      reason:
        "sgr-0b1c2d3e4f5a60001 (sg-3f4b5653) admits 0.0.0.0/0 on TCP 6379; network ACL acl-5fb85d36 entry 100 allows 0.0.0.0/0; route table rtb-f9ad4890 sends 0.0.0.0/0 to igw-eaad4883",
      rules: [
        {
          groupId: "sg-3f4b5653",
          ruleId: "sgr-0b1c2d3e4f5a60001",
          protocol: "tcp",
          fromPort: 6379,
          toPort: 6379,
          source: "0.0.0.0/0",
        },
      ],
      networkAcl: { networkAclId: "acl-5fb85d36", ruleNumber: 100, action: "allow", source: "0.0.0.0/0" },
      route: { routeTableId: "rtb-f9ad4890", main: false, destination: "0.0.0.0/0", target: "igw-eaad4883" },
    });
    expect(targets.find((t) => t.host === "2600:1f18:4a3:6a01::123")?.asset?.path).toMatchObject({
      scope: "restricted",
      rules: [{ source: "pl-0b1c2d3e4f5a60001 (2600:1f14::/35)" }],
    });
    expect(targets.find((t) => t.host === "52.20.40.4")?.asset?.path).toMatchObject({
      networkAcl: { networkAclId: "acl-5fb85d37", ruleNumber: 90, action: "deny" },
    });
    expect(summary.counts.paths).toEqual({ open: 3, closed: 4, unknown: 5 });
    expect(summary.detailErrors).toEqual([]);
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
    // The path and owner reads are batched per account and region: one call each, whatever the number of addresses.
    const LISTINGS = ["DescribeNetworkInterfaces", "DescribeAddresses", "DescribeRegions"];
    const perRegion = (accessKeyId: string, region: string) =>
      calls
        .filter((c) => c.accessKeyId === accessKeyId && c.region === region)
        .filter((c) => ["ec2", "elasticloadbalancing", "rds"].includes(c.service) && !LISTINGS.includes(c.action))
        .map((c) => c.action)
        .sort();
    expect(perRegion(CALLER.accessKeyId, "us-east-1")).toEqual([
      "DescribeDBInstances",
      "DescribeInstances",
      "DescribeListeners",
      "DescribeLoadBalancers",
      "DescribeNetworkAcls",
      "DescribeRouteTables",
      "DescribeSecurityGroupRules",
      "GetManagedPrefixListEntries",
    ]);
    expect(perRegion(MEMBER_ACCESS_KEY, "us-east-1")).toEqual([
      "DescribeInstances",
      "DescribeNetworkAcls",
      "DescribeRouteTables",
      "DescribeSecurityGroupRules",
    ]);
    // A region with no public address costs no path reads.
    expect(perRegion(CALLER.accessKeyId, "eu-west-1")).toEqual([]);
    const rulesCall = calls.find(
      (c) => c.action === "DescribeSecurityGroupRules" && c.accessKeyId === CALLER.accessKeyId,
    )!;
    expect(rulesCall.params.get("Filter.1.Name")).toBe("group-id");
    expect([rulesCall.params.get("Filter.1.Value.1"), rulesCall.params.get("Filter.1.Value.2")]).toEqual([
      "sg-0db0000000000001",
      "sg-3f4b5653",
    ]);

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
    expect(new Set(general.calls.map((c) => c.service))).toEqual(
      new Set(["sts", "lightsail", "globalaccelerator", "elasticloadbalancing", "rds"]),
    );
  });

  it("reads the paths of 450 addresses in one region with a few calls, not one per address", async () => {
    const server = await fake(httpOrganization({ extraInterfaces: 450 }));
    process.env.AWS_ENDPOINT_URL = server.url;
    const { targets } = await readAwsTargets({
      regions: ["eu-west-1"],
      readGlobalAccelerator: false,
      callTimeoutMs: 20_000,
    });
    expect(targets).toHaveLength(450);
    // Each instance has its own group admitting 0.0.0.0/0 on 6379, in a subnet whose main table routes to an IGW.
    expect(targets.every((t) => t.asset?.path?.verdict === "open")).toBe(true);
    expect(targets.every((t) => t.asset?.owners?.team === "fleet")).toBe(true);
    expect(targets[0]!.asset?.path?.rules?.[0]?.ruleId).toMatch(/^sgr-0e/);
    const counts: Record<string, number> = {};
    for (const call of server.calls) counts[call.action] = (counts[call.action] ?? 0) + 1;
    // 450 groups and 450 instances in filters of at most 200 values: 3 calls each; one subnet, one VPC: 1 call each.
    expect(counts).toMatchObject({
      DescribeSecurityGroupRules: 3,
      DescribeInstances: 3,
      DescribeNetworkAcls: 1,
      DescribeRouteTables: 1,
    });
    expect(counts.GetManagedPrefixListEntries).toBeUndefined();
    expect(counts.DescribeLoadBalancers).toBeUndefined();
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
