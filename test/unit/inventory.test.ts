import { afterEach, describe, expect, it } from "vitest";
import { createAwsClientFactory, type InventoryClientFactory } from "../../shared/inventory/clients.ts";
import type { InventoryConfig } from "../../shared/inventory/config.ts";
import { enumeratePublicTargets, InventoryCredentialsError } from "../../shared/inventory/enumerate.ts";
import { callerCredentials, installMockWorld, serviceError, type World } from "../fixtures/aws/mock-world.ts";
import * as org from "../fixtures/aws/organization.ts";

let restore: (() => void) | undefined;
let factory: InventoryClientFactory | undefined;

afterEach(() => {
  factory?.destroy();
  factory = undefined;
  restore?.();
  restore = undefined;
});

/** The fixture organization: a caller (management) account, a member, a denied account, a suspended one. */
function organizationWorld(overrides: Partial<World> = {}): World {
  return {
    callerIdentity: org.callerIdentity,
    listAccounts: org.listAccountsPages,
    assumeRole: (accountId) =>
      accountId === org.DENIED
        ? serviceError(
            "AccessDenied",
            `User: arn:aws:iam::${org.MANAGEMENT}:user/inventory is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${org.DENIED}:role/ExposureMonitorReadOnly`,
            403,
          )
        : org.assumeRoleOutput(accountId),
    regions: () => org.describeRegions,
    interfaces: (accountId, region) => {
      if (accountId === org.MANAGEMENT && region === "us-east-1") return org.managementInterfacesPages;
      if (accountId === org.MEMBER && region === "us-east-1") return org.memberInterfaces;
      if (accountId === org.MEMBER && region === "eu-west-1") return "hang";
      return org.empty.interfaces;
    },
    addresses: (accountId, region) =>
      accountId === org.MANAGEMENT && region === "us-east-1" ? org.managementAddresses : org.empty.addresses,
    lightsailInstances: (accountId, region) =>
      accountId === org.MANAGEMENT && region === "us-east-1" ? org.managementLightsailInstances : org.empty.instances,
    lightsailStaticIps: (accountId, region) =>
      accountId === org.MANAGEMENT && region === "us-east-1" ? org.managementLightsailStaticIps : org.empty.staticIps,
    accelerators: (accountId) => (accountId === org.MANAGEMENT ? org.managementAccelerators : org.empty.accelerators),
    ...overrides,
  };
}

async function run(world: World, config: Partial<InventoryConfig>) {
  const mocks = installMockWorld(world);
  restore = mocks.restore;
  factory = createAwsClientFactory({ credentials: callerCredentials, homeRegion: "us-east-1" });
  const result = await enumeratePublicTargets({ callTimeoutMs: 500, ...config }, factory);
  return { ...result, calls: mocks.calls };
}

const ORG: Partial<InventoryConfig> = { accounts: { kind: "organization" } };

describe("enumeratePublicTargets over the fixture organization", () => {
  it("lists every public address once, with its most specific owner, in address order", async () => {
    const { targets } = await run(organizationWorld(), ORG);
    const rows = targets.map((t) => [
      t.host,
      t.port,
      t.asset?.accountId,
      t.asset?.region,
      t.asset?.resourceType,
      t.asset?.resourceId,
    ]);
    expect(rows).toEqual([
      ["3.80.20.2", 6379, org.MANAGEMENT, "us-east-1", "ec2-instance", "i-0123456789abcdef0"],
      ["18.204.5.9", 6379, org.MANAGEMENT, "us-east-1", "nat-gateway", "nat-0f1e2d3c4b5a69788"],
      ["34.192.7.7", 6379, org.MANAGEMENT, "us-east-1", "elastic-ip", "eipalloc-0aaaaaaaaaaaaaaa2"],
      ["35.170.0.5", 6379, org.MEMBER, "us-east-1", "ec2-instance", "i-0fedcba9876543210"],
      ["44.200.1.10", 6379, org.MANAGEMENT, "us-east-1", "lightsail-instance", "wordpress-1"],
      ["44.200.1.11", 6379, org.MANAGEMENT, "us-east-1", "lightsail-static-ip", "StaticIp-unused"],
      ["52.20.30.4", 6379, org.MANAGEMENT, "us-east-1", "load-balancer", "app/web-alb/50dc6c495c0c9188"],
      ["54.240.10.1", 6379, org.MANAGEMENT, "us-east-1", "ec2-instance", "i-0123456789abcdef0"],
      [
        "75.2.60.5",
        6379,
        org.MANAGEMENT,
        "global",
        "global-accelerator",
        org.managementAccelerators.Accelerators![0]!.AcceleratorArn,
      ],
      [
        "99.83.190.51",
        6379,
        org.MANAGEMENT,
        "global",
        "global-accelerator",
        org.managementAccelerators.Accelerators![0]!.AcceleratorArn,
      ],
      ["2600:1f18:4a3:6a00::1002", 6379, org.MANAGEMENT, "us-east-1", "ec2-instance", "i-0123456789abcdef0"],
      [
        "2600:1f18:4a3:6a00:15a9:bd4c:2c8f:1001",
        6379,
        org.MANAGEMENT,
        "us-east-1",
        "ec2-instance",
        "i-0123456789abcdef0",
      ],
      [
        "2600:1f18:c01:8f00:aaaa:bbbb:cccc:dddd",
        6379,
        org.MANAGEMENT,
        "us-east-1",
        "lightsail-instance",
        "wordpress-1",
      ],
      [
        "2600:9000:a400::1",
        6379,
        org.MANAGEMENT,
        "global",
        "global-accelerator",
        org.managementAccelerators.Accelerators![0]!.AcceleratorArn,
      ],
      [
        "2600:9000:a500::1",
        6379,
        org.MANAGEMENT,
        "global",
        "global-accelerator",
        org.managementAccelerators.Accelerators![0]!.AcceleratorArn,
      ],
    ]);
  });

  it("carries names and tags: the interface's Name tag, the load balancer name, the Elastic IP's tags", async () => {
    const { targets } = await run(organizationWorld(), ORG);
    const byHost = new Map(targets.map((t) => [t.host, t.asset]));
    expect(byHost.get("54.240.10.1")).toEqual({
      provider: "aws",
      accountId: org.MANAGEMENT,
      region: "us-east-1",
      resourceType: "ec2-instance",
      resourceId: "i-0123456789abcdef0",
      name: "cache-primary",
      tags: { Name: "cache-primary", Team: "payments" },
      // The default owner tag keys match "Team" whatever its case.
      owners: { Team: "payments" },
      // This world does not grant the path reads: the verdict says what could not be read.
      path: {
        verdict: "unknown",
        layer: "security-group",
        reason:
          "ec2:DescribeSecurityGroupRules could not be read (UnauthorizedOperation: You are not authorized to perform this operation.)",
      },
    });
    expect(byHost.get("52.20.30.4")?.name).toBe("web-alb");
    expect(byHost.get("34.192.7.7")?.tags).toEqual({ Name: "spare" });
    expect(byHost.get("44.200.1.10")?.tags).toEqual({ Team: "web" });
    expect(byHost.get("75.2.60.5")?.name).toBe("edge");
  });

  it("drops private, shared and reserved addresses and counts them", async () => {
    const { targets, summary } = await run(organizationWorld(), ORG);
    const hosts = targets.map((t) => t.host);
    for (const reserved of [
      "100.64.1.1",
      "192.0.2.7",
      "10.9.9.9",
      "fd00:ec2::254",
      "fe80::1",
      "2001:db8::5",
      "10.0.1.17",
    ]) {
      expect(hosts).not.toContain(reserved);
    }
    // 100.64.1.1 twice (interface and private-address association), 192.0.2.7, 10.9.9.9, three IPv6.
    expect(summary.counts.nonPublicDropped).toBe(7);
    // 54.240.10.1 three times (interface, private address, EIP), 3.80.20.2, 18.204.5.9 and 52.20.30.4 twice, 44.200.1.10 twice.
    expect(summary.counts.duplicates).toBe(2 + 1 + 1 + 1 + 1);
    expect(summary.counts.addresses).toBe(15);
    expect(summary.counts.byResourceType).toEqual({
      "ec2-instance": 5,
      "elastic-ip": 1,
      "global-accelerator": 4,
      "lightsail-instance": 2,
      "lightsail-static-ip": 1,
      "load-balancer": 1,
      "nat-gateway": 1,
    });
  });

  it("records the denied account and the hanging region as coverage gaps and returns the rest", async () => {
    const { summary } = await run(organizationWorld(), ORG);
    expect(summary.gaps).toHaveLength(2);
    expect(summary.gaps[0]).toMatchObject({
      accountId: org.MEMBER,
      region: "eu-west-1",
      source: "ec2:DescribeNetworkInterfaces",
    });
    expect(summary.gaps[0]!.error).toMatch(/no answer within 500 ms/);
    expect(summary.gaps[1]).toMatchObject({ accountId: org.DENIED, source: "sts:AssumeRole" });
    expect(summary.gaps[1]!.error).toMatch(/^AccessDenied: User: .* is not authorized to perform: sts:AssumeRole/);
    expect(summary.accountsRead).toEqual([org.MANAGEMENT, org.MEMBER]);
    expect(summary.regionsRead).toEqual(["ap-east-1", "eu-west-1", "us-east-1"]);
    expect(summary.counts.accounts).toBe(3); // the suspended account is not in scope
    expect(summary.counts.accountRegions).toBe(6);
    expect(summary.counts.accountRegionsRead).toBe(5);
    expect(summary.callerAccountId).toBe(org.MANAGEMENT);
  });

  it("follows NextToken through accounts and interfaces, reads opted-in regions only, assumes the named role", async () => {
    const { calls } = await run(organizationWorld(), { ...ORG, roleName: "AuditReader", externalId: "ext-123" });
    expect(calls.filter((c) => c.operation === "ListAccounts").map((c) => c.input.NextToken)).toEqual([
      undefined,
      "accounts-page-2",
    ]);
    const interfacePages = calls.filter(
      (c) => c.operation === "DescribeNetworkInterfaces" && c.accountId === org.MANAGEMENT && c.region === "us-east-1",
    );
    expect(interfacePages.map((c) => c.input.NextToken)).toEqual([undefined, "interfaces-page-2"]);
    const regionsRead = new Set(calls.filter((c) => c.operation === "DescribeAddresses").map((c) => c.region));
    expect([...regionsRead].sort()).toEqual(["ap-east-1", "eu-west-1", "us-east-1"]);
    // Lightsail only where it exists (not ap-east-1).
    const lightsailRegions = new Set(calls.filter((c) => c.operation === "GetInstances").map((c) => c.region));
    expect([...lightsailRegions].sort()).toEqual(["eu-west-1", "us-east-1"]);
    const assumed = calls.filter((c) => c.operation === "AssumeRole").map((c) => c.input);
    expect(assumed.map((i) => i.RoleArn).sort()).toEqual([
      `arn:aws:iam::${org.MEMBER}:role/AuditReader`,
      `arn:aws:iam::${org.DENIED}:role/AuditReader`,
    ]);
    expect(assumed.every((i) => i.ExternalId === "ext-123")).toBe(true);
    // The caller's own account is read with its own credentials, never through a role.
    expect(calls.some((c) => c.operation === "AssumeRole" && c.accountId === org.MANAGEMENT)).toBe(false);
    // One AssumeRole per account, however many regions and services use the credentials.
    expect(calls.filter((c) => c.operation === "AssumeRole" && c.accountId === org.MEMBER)).toHaveLength(1);
  });

  it("is deterministic whatever order the answers arrive in", async () => {
    const first = await run(organizationWorld(), ORG);
    factory?.destroy();
    restore?.();
    // Same answers, different arrival order: every call waits a random time.
    const shuffled = organizationWorld();
    const late = <A extends unknown[], R>(pick: ((...args: A) => R) | undefined) =>
      pick &&
      ((...args: A) => new Promise<R>((resolve) => setTimeout(() => resolve(pick(...args)), Math.random() * 30)));
    const second = await run(
      {
        ...shuffled,
        addresses: late(shuffled.addresses) as World["addresses"],
        lightsailInstances: late(shuffled.lightsailInstances) as World["lightsailInstances"],
        lightsailStaticIps: late(shuffled.lightsailStaticIps) as World["lightsailStaticIps"],
        accelerators: late(shuffled.accelerators) as World["accelerators"],
        latencyMs: 3,
      },
      ORG,
    );
    expect(second.targets).toEqual(first.targets);
    expect(second.summary.gaps).toEqual(first.summary.gaps);
  });
});

describe("scope", () => {
  it("emits one target per address and port, ports ascending", async () => {
    const { targets } = await run(organizationWorld(), {
      accounts: { kind: "accounts", accountIds: [org.MEMBER] },
      ports: [6380, 6379],
    });
    expect(targets.map((t) => `${t.host}:${t.port}`)).toEqual(["35.170.0.5:6379", "35.170.0.5:6380"]);
  });

  it("keeps only resources matching an include tag and drops those matching an exclude tag", async () => {
    const included = await run(organizationWorld(), { ...ORG, includeTags: [{ key: "Team", value: "payments" }] });
    expect(new Set(included.targets.map((t) => t.asset?.resourceId))).toEqual(new Set(["i-0123456789abcdef0"]));
    factory?.destroy();
    restore?.();
    const excluded = await run(organizationWorld(), { ...ORG, excludeTags: [{ key: "Team" }] });
    const types = excluded.targets.map((t) => t.asset?.resourceId);
    expect(types).not.toContain("i-0123456789abcdef0");
    expect(types).not.toContain("wordpress-1");
    expect(types).toContain("StaticIp-unused");
    // The excluded instance's Elastic IP record does not bring its address back.
    expect(excluded.targets.map((t) => t.host)).not.toContain("54.240.10.1");
    expect(excluded.summary.counts.outOfScopeByTag).toBeGreaterThan(0);
  });

  it("reads only the configured regions without calling DescribeRegions, minus excluded accounts", async () => {
    const { calls, summary } = await run(organizationWorld(), {
      ...ORG,
      regions: ["us-east-1", "eu-west-1"],
      excludeRegions: ["eu-west-1"],
      excludeAccounts: [org.DENIED],
    });
    expect(calls.some((c) => c.operation === "DescribeRegions")).toBe(false);
    expect(new Set(calls.filter((c) => c.operation === "DescribeAddresses").map((c) => c.region))).toEqual(
      new Set(["us-east-1"]),
    );
    expect(summary.gaps).toEqual([]);
    expect(summary.accountsRead).toEqual([org.MANAGEMENT, org.MEMBER]);
  });

  it("reads only the caller's account by default, with no Organizations or STS role calls", async () => {
    const { calls, summary, targets } = await run(organizationWorld(), {});
    expect(calls.some((c) => c.operation === "ListAccounts" || c.operation === "AssumeRole")).toBe(false);
    expect(summary.accountsRead).toEqual([org.MANAGEMENT]);
    expect(targets.every((t) => t.asset?.accountId === org.MANAGEMENT)).toBe(true);
    expect(targets).toHaveLength(15 - 1);
  });
});

describe("failures", () => {
  it("throws a credentials error when the caller's identity cannot be read", async () => {
    const world = organizationWorld({
      callerIdentity: serviceError(
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        403,
      ),
    });
    await expect(run(world, ORG)).rejects.toThrow(InventoryCredentialsError);
    await expect(run(world, ORG)).rejects.toThrow(
      /cannot use the AWS credentials .*InvalidClientTokenId: The security token/,
    );
  });

  it("falls back to the caller's account and records a gap when the organization cannot be listed", async () => {
    const { summary } = await run(
      organizationWorld({
        listAccounts: serviceError(
          "AWSOrganizationsNotInUseException",
          "Your account is not a member of an organization.",
        ),
      }),
      ORG,
    );
    expect(summary.gaps).toEqual([
      {
        source: "organizations:ListAccounts",
        error: "AWSOrganizationsNotInUseException: Your account is not a member of an organization.",
      },
    ]);
    expect(summary.accountsRead).toEqual([org.MANAGEMENT]);
  });

  it("keeps reading the accounts of the pages it got when a later organization page fails", async () => {
    const { summary } = await run(organizationWorld({ listAccounts: [org.listAccountsPages[0]!] }), {
      ...ORG,
      regions: ["us-east-1"],
    });
    expect(summary.gaps.map((g) => [g.source, g.error.split(":")[0]])).toEqual([
      ["organizations:ListAccounts", "InvalidNextToken"],
    ]);
    expect(summary.accountsRead).toEqual([org.MANAGEMENT, org.MEMBER]);
  });

  it("records a gap for an account whose regions cannot be listed, and for a failing listing", async () => {
    const { summary, targets } = await run(
      organizationWorld({
        regions: (accountId) =>
          accountId === org.MEMBER
            ? serviceError("UnauthorizedOperation", "You are not authorized.")
            : org.describeRegions,
        accelerators: () =>
          serviceError("AccessDeniedException", "not authorized to perform: globalaccelerator:ListAccelerators"),
      }),
      { accounts: { kind: "accounts", accountIds: [org.MANAGEMENT, org.MEMBER] } },
    );
    expect(summary.gaps.map((g) => [g.accountId, g.region, g.source])).toEqual([
      [org.MANAGEMENT, undefined, "globalaccelerator:ListAccelerators"],
      [org.MEMBER, undefined, "ec2:DescribeRegions"],
    ]);
    expect(summary.accountsRead).toEqual([org.MANAGEMENT]);
    expect(targets.some((t) => t.asset?.resourceType === "ec2-instance")).toBe(true);
  });

  it("records a listing whose pagination never ends as a gap", async () => {
    const looping = { ...org.memberInterfaces, NextToken: "same-token" };
    const { summary } = await run(organizationWorld({ interfaces: () => [looping, looping] }), {
      accounts: { kind: "accounts", accountIds: [org.MEMBER] },
      regions: ["us-east-1"],
    });
    expect(summary.gaps).toHaveLength(1);
    expect(summary.gaps[0]).toMatchObject({ source: "ec2:DescribeNetworkInterfaces" });
  });
});

describe("concurrency", () => {
  it("never runs more region reads at once than configured", async () => {
    let inFlight = 0;
    let peak = 0;
    const slowEmpty = () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      return new Promise<typeof org.empty.interfaces>((resolve) =>
        setTimeout(() => {
          inFlight--;
          resolve(org.empty.interfaces);
        }, 20),
      );
    };
    const accountIds = Array.from({ length: 6 }, (_, i) => `99999999990${i}`);
    const mocks = installMockWorld({
      ...organizationWorld(),
      assumeRole: (accountId) => org.assumeRoleOutput(accountId),
      // Each region read lists interfaces once: the in-flight count is the number of region reads running.
      interfaces: () => slowEmpty(),
    });
    restore = mocks.restore;
    factory = createAwsClientFactory({ credentials: callerCredentials });
    const result = await enumeratePublicTargets(
      {
        accounts: { kind: "accounts", accountIds },
        regions: ["us-east-1", "eu-west-1", "ap-south-1"],
        concurrency: 4,
        readGlobalAccelerator: false,
      },
      factory,
    );
    expect(result.summary.gaps).toEqual([]);
    expect(result.summary.counts.accountRegionsRead).toBe(18);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(4);
  });

  it("reads every account and region at the same time when the bound allows", async () => {
    // Each interface listing waits until all 18 are in flight (or gives up after 10 s): a
    // sequential or per-account-serial implementation never gets there and the peak shows it.
    const expected = 18;
    let inFlight = 0;
    let peak = 0;
    const waiting: Array<() => void> = [];
    const barrier = () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      if (inFlight === expected) for (const release of waiting.splice(0)) release();
      return new Promise<typeof org.empty.interfaces>((resolve) => {
        const done = () => resolve(org.empty.interfaces);
        if (inFlight >= expected) done();
        else {
          waiting.push(done);
          setTimeout(done, 10_000);
        }
      });
    };
    const accountIds = Array.from({ length: 6 }, (_, i) => `88888888880${i}`);
    const mocks = installMockWorld({
      ...organizationWorld(),
      assumeRole: (accountId) => org.assumeRoleOutput(accountId),
      interfaces: () => barrier(),
    });
    restore = mocks.restore;
    factory = createAwsClientFactory({ credentials: callerCredentials });
    const result = await enumeratePublicTargets(
      {
        accounts: { kind: "accounts", accountIds },
        regions: ["us-east-1", "eu-west-1", "ap-south-1"],
        callTimeoutMs: 20_000,
      },
      factory,
    );
    expect(result.summary.gaps).toEqual([]);
    expect(peak).toBe(expected);
  });
});
