// The fast path's resolution through the real SDK clients over HTTP against a local fake AWS endpoint
// (selected only by AWS_ENDPOINT_URL): every catalog event makes exactly the describe calls and filters
// it should in the member account (through the assumed role), and yields the addresses with their owners.
// Pagination, throttling (retried) and an account whose role cannot be assumed (a gap, not an exception).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { changeFromEvent, isIrrelevant } from "../../shared/fastpath/catalog.ts";
import { FastPathResolver } from "../../shared/fastpath/resolve.ts";
import { createAwsClientFactory } from "../../shared/inventory/clients.ts";
import { CATALOG_CASES, cloudTrailEvent } from "../fixtures/aws/cloudtrail-events.ts";
import { type FakeAwsServer, startFakeAws } from "../fixtures/aws/fake-aws-server.ts";
import { describeCall, fastPathWorld, REDIS_RULES } from "../fixtures/aws/http-fastpath.ts";
import { CALLER, DENIED, MEMBER } from "../fixtures/aws/http-organization.ts";

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
const savedEnv = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));
const servers: FakeAwsServer[] = [];

beforeAll(() => {
  for (const key of ENV_KEYS) delete process.env[key];
  process.env.AWS_ACCESS_KEY_ID = CALLER.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = CALLER.secretAccessKey;
  process.env.AWS_REGION = "us-east-1";
  process.env.AWS_CONFIG_FILE = "/nonexistent/aws-config";
  process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/aws-credentials";
  process.env.AWS_EC2_METADATA_DISABLED = "true";
});

afterEach(async () => {
  delete process.env.AWS_ENDPOINT_URL;
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

afterAll(() => {
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

async function world(options: Parameters<typeof fastPathWorld>[0] = {}) {
  const server = await startFakeAws(fastPathWorld(options));
  servers.push(server);
  process.env.AWS_ENDPOINT_URL = server.url;
  const clients = createAwsClientFactory({ callTimeoutMs: 5_000 });
  const resolver = new FastPathResolver(clients, { externalId: "exposure-monitor-ext", callTimeoutMs: 5_000 });
  return { server, clients, resolver };
}

const resolvingCalls = (server: FakeAwsServer) =>
  server.calls.filter((call) => call.service !== "sts").map(describeCall);

/** The inventory's enrichment reads (owners, path) made after the lookups: not part of the catalog's promise. */
const ENRICHMENT =
  /^(DescribeSecurityGroupRules|DescribeInstances|GetManagedPrefixListEntries|DescribeLoadBalancers|DescribeListeners|DescribeDBInstances|DescribeNetworkAcls association\.subnet-id=|DescribeRouteTables vpc-id=)/;

describe("fast-path resolution over HTTP against a fake AWS endpoint", () => {
  for (const [name, fixture] of Object.entries(CATALOG_CASES)) {
    it(`${name} resolves with ${fixture.calls.map((c) => c.split(" ")[0]).join(" + ")} to its public addresses`, async () => {
      const { server, clients, resolver } = await world();
      try {
        const change = changeFromEvent(fixture.event);
        if (isIrrelevant(change)) throw new Error(change.irrelevant);
        const resolution = await resolver.resolve(change);
        expect(resolution.gaps).toEqual([]);
        expect(resolution.targets.map((t) => t.host).sort()).toEqual([...fixture.hosts].sort());
        expect(resolution.targets.every((t) => t.port === 6379)).toBe(true);
        // Each distinct call once per page; the set is what the catalog promises.
        expect(
          [...new Set(resolvingCalls(server))]
            .filter((call) => !ENRICHMENT.test(call) || fixture.calls.includes(call))
            .sort(),
        ).toEqual([...fixture.calls].sort());
        // In the member account, through its role, in the event's region (Global Accelerator: us-west-2).
        const reads = server.calls.filter((call) => call.service !== "sts");
        expect(reads.every((call) => call.accessKeyId !== CALLER.accessKeyId)).toBe(true);
        expect(new Set(reads.map((call) => call.region))).toEqual(new Set([fixture.event.region]));
        for (const target of resolution.targets) {
          expect(target.asset?.accountId).toBe(MEMBER);
          expect(resolution.stopKeys[target.host]).toContain(`ip:${target.host}`);
        }
      } finally {
        clients.destroy();
      }
    });
  }

  it("names the owner of each address as the inventory does (instance, load balancer, task, Elastic IP keys)", async () => {
    const { clients, resolver } = await world();
    try {
      const change = changeFromEvent(CATALOG_CASES.AttachInternetGateway!.event);
      if (isIrrelevant(change)) throw new Error(change.irrelevant);
      const { targets, stopKeys } = await resolver.resolve(change);
      const owners = Object.fromEntries(
        targets.map((t) => [t.host, `${t.asset?.resourceType} ${t.asset?.resourceId}`]),
      );
      expect(owners).toEqual({
        "35.171.0.10": "ec2-instance i-0aa0000000000001",
        "35.171.0.11": "ec2-instance i-0aa0000000000002",
        "52.20.40.4": "load-balancer net/db-nlb/0123456789abcdef",
        "2600:1f18:4a3:6a01::10": "ec2-instance i-0aa0000000000001",
      });
      expect(targets.find((t) => t.host === "35.171.0.10")?.asset?.name).toBe("sessions-redis");
      expect(stopKeys["35.171.0.11"]).toEqual([
        "allocation:eipalloc-0000000000000002",
        "association:eipassoc-0000000000000002",
        "ip:35.171.0.11",
      ]);
    } finally {
      clients.destroy();
    }
  });

  it("carries the path verdict on every target, from the inventory's batched path reads in the event's account", async () => {
    const { server, clients, resolver } = await world();
    try {
      const change = changeFromEvent(CATALOG_CASES.AttachInternetGateway!.event);
      if (isIrrelevant(change)) throw new Error(change.irrelevant);
      const { targets, gaps } = await resolver.resolve(change);
      expect(gaps).toEqual([]);
      const path = (host: string) => targets.find((t) => t.host === host)?.asset?.path;
      // Own table with an IGW route, allow-all ACL, the group's 0.0.0.0/0 rule: open, named by its rule id.
      expect(path("35.171.0.10")).toMatchObject({
        verdict: "open",
        scope: "any",
        rules: [{ groupId: "sg-0redis000000001", ruleId: REDIS_RULES.ipv4, source: "0.0.0.0/0" }],
        route: { routeTableId: "rtb-0pub000000000001", main: false },
      });
      // The group admits ::/0 but the table has no IPv6 route to the gateway: closed by the route.
      expect(path("2600:1f18:4a3:6a01::10")).toMatchObject({ verdict: "closed", layer: "route" });
      // No table of its own: the VPC's main table decides.
      expect(path("35.171.0.11")).toMatchObject({
        verdict: "open",
        route: { routeTableId: "rtb-0main00000000001", main: true },
      });
      for (const target of targets) expect(target.asset?.path?.verdict).toMatch(/^(open|closed|unknown)$/);
      // Batched: each path read once for the region, in the member account.
      const reads = server.calls.filter((call) => call.action === "DescribeSecurityGroupRules");
      expect(reads).toHaveLength(1);
      expect(reads[0]!.accessKeyId).not.toBe(CALLER.accessKeyId);
      expect(server.calls.filter((call) => call.action === "DescribeInstances")).toHaveLength(1);
    } finally {
      clients.destroy();
    }
  });

  it("follows pagination: the security group's three interfaces come one per page", async () => {
    const { server, clients, resolver } = await world();
    try {
      const change = changeFromEvent(CATALOG_CASES.AuthorizeSecurityGroupIngress!.event);
      if (isIrrelevant(change)) throw new Error(change.irrelevant);
      const { targets } = await resolver.resolve(change);
      const pages = server.calls.filter((call) => call.action === "DescribeNetworkInterfaces");
      expect(pages.map((call) => call.params.get("NextToken"))).toEqual([null, "page-1", "page-2"]);
      // The third interface has only a private address: never a target.
      expect(targets.map((t) => t.host)).not.toContain("10.0.3.9");
      expect(targets).toHaveLength(3);
    } finally {
      clients.destroy();
    }
  });

  it("retries a throttled call and still resolves", async () => {
    const { server, clients, resolver } = await world({ throttleFirst: ["DescribeNetworkInterfaces", "GetInstance"] });
    try {
      for (const name of ["ModifyInstanceAttribute", "StartInstance"]) {
        const change = changeFromEvent(CATALOG_CASES[name]!.event);
        if (isIrrelevant(change)) throw new Error(change.irrelevant);
        const resolution = await resolver.resolve(change);
        expect(resolution.gaps).toEqual([]);
        expect(resolution.targets.length).toBeGreaterThan(0);
      }
      expect(server.calls.filter((c) => c.action === "DescribeNetworkInterfaces")).toHaveLength(2);
      expect(server.calls.filter((c) => c.action === "GetInstance")).toHaveLength(2);
    } finally {
      clients.destroy();
    }
  });

  it("reports an account whose role cannot be assumed as a gap, reads nothing there, and assumes a role once", async () => {
    const { server, clients, resolver } = await world();
    try {
      const denied = changeFromEvent(
        cloudTrailEvent(
          "aws.ec2",
          "ModifyNetworkInterfaceAttribute",
          { networkInterfaceId: "eni-0000000000000001" },
          {},
          {
            account: DENIED,
          },
        ),
      );
      if (isIrrelevant(denied)) throw new Error(denied.irrelevant);
      const resolution = await resolver.resolve(denied);
      expect(resolution.targets).toEqual([]);
      expect(resolution.gaps).toHaveLength(1);
      expect(resolution.gaps[0]).toMatchObject({ accountId: DENIED, source: "sts:AssumeRole" });
      expect(resolution.gaps[0]!.error).toMatch(/AccessDenied/);
      // The member account, three times: credentials are cached across events.
      for (const name of ["ModifyInstanceAttribute", "CreateListener", "AssociateAddress"]) {
        const change = changeFromEvent(CATALOG_CASES[name]!.event);
        if (isIrrelevant(change)) throw new Error(change.irrelevant);
        expect((await resolver.resolve(change)).targets.length).toBeGreaterThan(0);
      }
      const assumed = server.calls.filter((c) => c.action === "AssumeRole").map((c) => c.params.get("RoleArn"));
      expect(assumed.filter((arn) => arn?.includes(MEMBER))).toHaveLength(1);
      expect(server.calls.filter((c) => c.action === "GetCallerIdentity")).toHaveLength(1);
    } finally {
      clients.destroy();
    }
  });

  it("a describe call that fails is a gap naming the call, not an exception", async () => {
    const { clients, resolver } = await world();
    try {
      const change = changeFromEvent(
        cloudTrailEvent("aws.ec2", "AssociateAddress", { allocationId: "eipalloc-0missing000000000" }, {}),
      );
      if (isIrrelevant(change)) throw new Error(change.irrelevant);
      const resolution = await resolver.resolve(change);
      expect(resolution.targets).toEqual([]);
      expect(resolution.gaps).toEqual([
        expect.objectContaining({ accountId: MEMBER, region: "us-east-1", source: "ec2:DescribeAddresses" }),
      ]);
    } finally {
      clients.destroy();
    }
  });
});
