import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/args.ts";
import { inventoryConfigFromOptions } from "../../cli/commands/inventory.ts";
import {
  DEFAULT_ROLE_NAME,
  InventoryConfigError,
  parseTagFilter,
  resolveInventoryConfig,
  tagsInScope,
} from "../../shared/inventory/config.ts";
import { interfaceOwner } from "../../shared/inventory/owners.ts";

describe("resolveInventoryConfig", () => {
  it("defaults to the current account, port 6379 and the ExposureMonitorReadOnly role", () => {
    const config = resolveInventoryConfig();
    expect(config.accounts).toEqual({ kind: "current" });
    expect(config.ports).toEqual([6379]);
    expect(config.roleName).toBe(DEFAULT_ROLE_NAME);
    expect(config.roleName).toBe("ExposureMonitorReadOnly");
    expect(config.externalId).toBeNull();
    expect(config.regions).toBeNull();
  });

  it("sorts and deduplicates ports", () => {
    expect(resolveInventoryConfig({ ports: [6380, 6379, 6380] }).ports).toEqual([6379, 6380]);
  });

  it.each([
    [{ accounts: { kind: "accounts" as const, accountIds: ["12345"] } }, /account id "12345" is not 12 digits/],
    [{ accounts: { kind: "accounts" as const, accountIds: [] } }, /account list is empty/],
    [{ excludeAccounts: ["abc"] }, /account id "abc"/],
    [{ regions: ["mars-1"] }, /region "mars-1"/],
    [{ regions: [] }, /regions: the list is empty/],
    [{ ports: [0] }, /port 0 is not between 1 and 65535/],
    [{ ports: [70000] }, /port 70000/],
    [{ ports: [] }, /ports: the list is empty/],
    [{ roleName: "bad role" }, /role name "bad role"/],
    [{ externalId: "x" }, /external id/],
    [{ concurrency: 0 }, /concurrency/],
  ])("rejects %j", (partial, message) => {
    expect(() => resolveInventoryConfig(partial)).toThrow(InventoryConfigError);
    expect(() => resolveInventoryConfig(partial)).toThrow(message);
  });
});

describe("tag filters", () => {
  it("parses key=value and bare keys", () => {
    expect(parseTagFilter("Team=payments")).toEqual({ key: "Team", value: "payments" });
    expect(parseTagFilter("Env=")).toEqual({ key: "Env", value: "" });
    expect(parseTagFilter("Exposure")).toEqual({ key: "Exposure" });
    expect(() => parseTagFilter("=x")).toThrow(/empty key/);
  });

  it("includes on any include match and excludes on any exclude match", () => {
    const config = resolveInventoryConfig({
      includeTags: [{ key: "Team", value: "payments" }, { key: "Critical" }],
      excludeTags: [{ key: "Env", value: "test" }],
    });
    expect(tagsInScope({ Team: "payments" }, config)).toBe(true);
    expect(tagsInScope({ Critical: "no" }, config)).toBe(true);
    expect(tagsInScope({ Team: "web" }, config)).toBe(false);
    expect(tagsInScope(undefined, config)).toBe(false);
    expect(tagsInScope({ Team: "payments", Env: "test" }, config)).toBe(false);
    expect(tagsInScope(undefined, resolveInventoryConfig())).toBe(true);
  });
});

describe("interfaceOwner", () => {
  it.each([
    [{ NetworkInterfaceId: "eni-1", Attachment: { InstanceId: "i-1" } }, "ec2-instance", "i-1"],
    [
      {
        NetworkInterfaceId: "eni-2",
        Description: "ELB net/db-nlb/0123456789abcdef",
        InterfaceType: "network_load_balancer" as const,
      },
      "load-balancer",
      "net/db-nlb/0123456789abcdef",
    ],
    [{ NetworkInterfaceId: "eni-3", Description: "ELB classic-web" }, "load-balancer", "classic-web"],
    [{ NetworkInterfaceId: "eni-4", Description: "RDSNetworkInterface", RequesterId: "amazon-rds" }, "rds", "eni-4"],
    [
      {
        NetworkInterfaceId: "eni-5",
        Description: "arn:aws:ecs:us-east-1:111111111111:attachment/0a1b2c3d-1111-2222-3333-444455556666",
      },
      "ecs-task",
      "arn:aws:ecs:us-east-1:111111111111:attachment/0a1b2c3d-1111-2222-3333-444455556666",
    ],
    [{ NetworkInterfaceId: "eni-6", Description: "Amazon EKS prod-cluster" }, "eks-cluster", "prod-cluster"],
    [{ NetworkInterfaceId: "eni-7", Description: "ElastiCache cache-0001-001" }, "elasticache", "cache-0001-001"],
    [
      { NetworkInterfaceId: "eni-8", InterfaceType: "lambda" as const, Description: "AWS Lambda VPC ENI-fn" },
      "lambda",
      "eni-8",
    ],
    [
      { NetworkInterfaceId: "eni-9", InterfaceType: "interface" as const, Description: "my own" },
      "network-interface",
      "eni-9",
    ],
    [
      { NetworkInterfaceId: "eni-10", Description: "", RequesterId: "amazon-rds", RequesterManaged: true },
      "rds",
      "eni-10",
    ],
  ])("%j belongs to %s %s", (eni, resourceType, resourceId) => {
    expect(interfaceOwner(eni)).toMatchObject({ resourceType, resourceId });
  });
});

describe("exposure inventory options", () => {
  it("maps every option onto the configuration", () => {
    const config = inventoryConfigFromOptions({
      accounts: "222222222222, 111111111111",
      "exclude-accounts": "333333333333",
      regions: "us-east-1,eu-west-1",
      "exclude-regions": "eu-west-1",
      "include-tag": ["Team=payments", "Critical"],
      "exclude-tag": ["Env=test"],
      ports: "6380,6379",
      "role-name": "AuditReader",
      "external-id": "ext-42",
      concurrency: "16",
      "call-timeout": "5s",
      "no-lightsail": true,
    });
    expect(config).toMatchObject({
      accounts: { kind: "accounts", accountIds: ["222222222222", "111111111111"] },
      excludeAccounts: ["333333333333"],
      regions: ["us-east-1", "eu-west-1"],
      excludeRegions: ["eu-west-1"],
      includeTags: [{ key: "Team", value: "payments" }, { key: "Critical" }],
      excludeTags: [{ key: "Env", value: "test" }],
      ports: [6379, 6380],
      roleName: "AuditReader",
      externalId: "ext-42",
      concurrency: 16,
      callTimeoutMs: 5_000,
      readLightsail: false,
      readGlobalAccelerator: true,
    });
    expect(inventoryConfigFromOptions({ org: true }).accounts).toEqual({ kind: "organization" });
    expect(inventoryConfigFromOptions({}).accounts).toEqual({ kind: "current" });
  });

  it.each([
    [{ org: true, accounts: "111111111111" }, /either --org or --accounts/],
    [{ regions: "moon-1" }, /region "moon-1"/],
    [{ "include-tag": ["=x"] }, /empty key/],
    [{ "call-timeout": "soon" }, /--call-timeout must be a duration/],
    [{ "role-name": "bad role" }, /role name "bad role"/],
    [{ concurrency: "0" }, /--concurrency must be between/],
    [{ ports: "" }, /ports: the list is empty/],
  ])("rejects %j as a usage error", (values, message) => {
    expect(() => inventoryConfigFromOptions(values)).toThrow(UsageError);
    expect(() => inventoryConfigFromOptions(values)).toThrow(message);
  });
});
