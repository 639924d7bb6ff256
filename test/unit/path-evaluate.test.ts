// The path verdict per address and port over configuration shaped as the EC2 and ELB APIs return
// it (test/fixtures/aws/network.ts): which rule, ACL entry and route decide, and which layer stops it.
import { describe, expect, it } from "vitest";
import {
  evaluatePath,
  type InterfaceFacts,
  type PathSubject,
  type RegionNetwork,
} from "../../shared/inventory/path/evaluate.ts";
import { regionNetworkOf } from "../../shared/inventory/path/read.ts";
import * as fx from "../fixtures/aws/network.ts";

function network(overrides: Partial<RegionNetwork> = {}): RegionNetwork {
  return {
    ...regionNetworkOf({
      rules: fx.securityGroupRules.SecurityGroupRules ?? [],
      prefixLists: new Map(Object.entries(fx.prefixListEntries).map(([id, out]) => [id, out.Entries ?? []])),
      networkAcls: fx.networkAcls.NetworkAcls ?? [],
      routeTables: fx.routeTables.RouteTables ?? [],
      loadBalancers: (fx.loadBalancers.LoadBalancers ?? []).map((loadBalancer) => ({
        loadBalancer,
        listeners: { ok: true as const, value: fx.listeners[loadBalancer.LoadBalancerName!]?.Listeners ?? [] },
      })),
    }),
    ...overrides,
  };
}

function eni(groupIds: string[], subnetId = "subnet-0a000000public", extra: Partial<InterfaceFacts> = {}): PathSubject {
  return {
    kind: "interface",
    iface: {
      networkInterfaceId: "eni-0a1b2c3d4e5f60001",
      interfaceType: "interface",
      subnetId,
      vpcId: fx.VPC,
      groupIds,
      ...extra,
    },
  };
}

const V4 = "54.240.10.1";
const V6 = "2600:1f18:4a3:6a00::1001";

describe("path verdicts", () => {
  it("a rule open to 0.0.0.0/0 on 6379: open, naming the rule, the ACL entry and the route", () => {
    const path = evaluatePath(eni(["sg-0a00000000000open"]), V4, 6379, network());
    expect(path).toMatchObject({
      verdict: "open",
      scope: "any",
      rules: [
        {
          ruleId: "sgr-0a0000000000000a1",
          groupId: "sg-0a00000000000open",
          source: "0.0.0.0/0",
          fromPort: 6379,
          toPort: 6379,
        },
      ],
      networkAcl: { networkAclId: "acl-0a00000000000open", ruleNumber: 100, action: "allow", source: "0.0.0.0/0" },
      route: {
        routeTableId: "rtb-0a000000000public",
        main: false,
        destination: "0.0.0.0/0",
        target: "igw-0a1b2c3d4e5f60001",
      },
    });
    expect(path.reason).toContain("sgr-0a0000000000000a1 (sg-0a00000000000open) admits 0.0.0.0/0 on TCP 6379");
    // Another port is not admitted by that rule.
    expect(evaluatePath(eni(["sg-0a00000000000open"]), V4, 6380, network())).toMatchObject({
      verdict: "closed",
      layer: "security-group",
    });
  });

  it("a rule open to ::/0 only: open for the IPv6 address, closed for the IPv4 one", () => {
    const v6 = evaluatePath(eni(["sg-0a0000000000ipv6"]), V6, 6379, network());
    expect(v6).toMatchObject({
      verdict: "open",
      scope: "any",
      rules: [{ ruleId: "sgr-0a0000000000000a2", source: "::/0" }],
      networkAcl: { ruleNumber: 101, source: "::/0" },
      route: { destination: "::/0", target: "igw-0a1b2c3d4e5f60001" },
    });
    const v4 = evaluatePath(eni(["sg-0a0000000000ipv6"]), V4, 6379, network());
    expect(v4.verdict).toBe("closed");
    expect(v4.reason).toContain("admits a public IPv4 source on TCP 6379");
  });

  it("a port range covering 6379, and protocol -1, admit it", () => {
    expect(evaluatePath(eni(["sg-0a000000000range"]), V4, 6379, network())).toMatchObject({
      verdict: "open",
      rules: [{ ruleId: "sgr-0a0000000000000a3", fromPort: 6000, toPort: 7000 }],
    });
    expect(evaluatePath(eni(["sg-0a000000000range"]), V4, 7001, network()).verdict).toBe("closed");
    expect(evaluatePath(eni(["sg-0a0000000000allpr"]), V4, 6379, network())).toMatchObject({
      verdict: "open",
      rules: [{ ruleId: "sgr-0a0000000000000a7", protocol: "-1" }],
    });
  });

  it("a prefix list is resolved to its entries: its public entry opens a restricted path", () => {
    const path = evaluatePath(eni(["sg-0a0000000000plist"]), V4, 6379, network());
    expect(path).toMatchObject({
      verdict: "open",
      scope: "restricted",
      rules: [{ ruleId: "sgr-0a0000000000000a4", source: "pl-0a1b2c3d4e5f60001 (52.94.76.0/22)" }],
    });
    // A prefix list that could not be read leaves the verdict unknown, naming it.
    const unread = evaluatePath(eni(["sg-0a00000000missing"]), V4, 6379, network());
    expect(unread).toMatchObject({ verdict: "unknown", layer: "security-group" });
    expect(unread.reason).toContain("pl-0a1b2c3d4e5f6dead");
  });

  it("a rule that references another group is noted as not public", () => {
    const path = evaluatePath(eni(["sg-0a00000000000refd"]), V4, 6379, network());
    expect(path.verdict).toBe("closed");
    expect(path.layer).toBe("security-group");
    expect(path.reason).toContain("sgr-0a0000000000000a5 admits group sg-0a000000000000app (not a public source)");
  });

  it("a network ACL deny that precedes an allow closes it, naming the entry", () => {
    const path = evaluatePath(eni(["sg-0a00000000000open"], "subnet-0a000000denied"), V4, 6379, network());
    expect(path).toMatchObject({
      verdict: "closed",
      layer: "network-acl",
      networkAcl: { networkAclId: "acl-0a00000000000deny", ruleNumber: 90, action: "deny", source: "0.0.0.0/0" },
    });
    // The IPv6 address meets no IPv6 entry but the default one: closed by the * rule.
    const v6 = evaluatePath(eni(["sg-0a0000000000ipv6"], "subnet-0a000000denied"), V6, 6379, network());
    expect(v6).toMatchObject({ verdict: "closed", layer: "network-acl", networkAcl: { ruleNumber: "*" } });
  });

  it("a partial deny leaves the rest of the internet: open, restricted", () => {
    const path = evaluatePath(eni(["sg-0a00000000000open"], "subnet-0a0000000part"), V4, 6379, network());
    expect(path).toMatchObject({ verdict: "open", scope: "restricted", networkAcl: { ruleNumber: 100 } });
  });

  it("a subnet on the main route table without an internet gateway route is closed at the route", () => {
    const path = evaluatePath(eni(["sg-0a00000000000open"], "subnet-0a00000private"), V4, 6379, network());
    expect(path).toMatchObject({ verdict: "closed", layer: "route" });
    expect(path.reason).toContain("rtb-0a00000000000main (the VPC's main table)");
    expect(path.reason).toContain("0.0.0.0/0 goes to nat-0a1b2c3d4e5f60001");
  });

  it("an NLB forwards its listener ports: open on 6379 (no security groups), closed elsewhere", () => {
    const nlb = eni([], "subnet-0a000000public", {
      interfaceType: "network_load_balancer",
      description: "ELB net/cache-nlb/0123456789abcdef",
    });
    expect(evaluatePath(nlb, V4, 6379, network())).toMatchObject({
      verdict: "open",
      scope: "any",
      rules: [],
      listener: { loadBalancer: "cache-nlb", type: "network", protocol: "TCP", port: 6379 },
    });
    expect(evaluatePath(nlb, V4, 6380, network())).toMatchObject({
      verdict: "closed",
      layer: "load-balancer",
      reason: "network load balancer cache-nlb has no listener on TCP 6380",
    });
  });

  it("an ALB answers on its listeners only, through its security groups", () => {
    const alb = eni(["sg-0a000000000000alb"], "subnet-0a000000public", {
      description: "ELB app/web-alb/50dc6c495c0c9188",
    });
    expect(evaluatePath(alb, V4, 6379, network())).toMatchObject({ verdict: "closed", layer: "load-balancer" });
    expect(evaluatePath(alb, V4, 443, network())).toMatchObject({
      verdict: "open",
      listener: { loadBalancer: "web-alb", protocol: "HTTPS" },
      rules: [{ ruleId: "sgr-0a0000000000000a8" }],
    });
  });

  it("a NAT gateway accepts nothing inbound", () => {
    const nat = eni([], "subnet-0a000000public", {
      interfaceType: "natGateway",
      description: "Interface for NAT Gateway nat-0a1b2c3d4e5f60001",
    });
    expect(evaluatePath(nat, V4, 6379, network())).toMatchObject({ verdict: "closed", layer: "resource" });
  });

  it("what could not be read makes the verdict unknown, saying what", () => {
    const denied = {
      ok: false as const,
      source: "ec2:DescribeSecurityGroupRules",
      error: "UnauthorizedOperation: not allowed",
    };
    expect(evaluatePath(eni(["sg-0a00000000000open"]), V4, 6379, network({ rules: denied }))).toEqual({
      verdict: "unknown",
      layer: "security-group",
      reason: "ec2:DescribeSecurityGroupRules could not be read (UnauthorizedOperation: not allowed)",
    });
    expect(
      evaluatePath({ kind: "not-resolved", reason: "Lightsail firewall not read" }, V4, 6379, network()),
    ).toMatchObject({
      verdict: "unknown",
    });
    expect(evaluatePath({ kind: "unassociated", what: "Elastic IP eipalloc-1" }, V4, 6379, network())).toMatchObject({
      verdict: "closed",
      layer: "resource",
    });
  });
});
