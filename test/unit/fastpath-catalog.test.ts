// The fast path's event catalog: every event, shaped as CloudTrail records it, turns into the reads that
// find its addresses; failed, read-only and harmless calls turn into nothing.
import { describe, expect, it } from "vitest";
import {
  CLOUDTRAIL_CATALOG,
  catalogEventNames,
  changeFromEvent,
  isIrrelevant,
  NATIVE_DETAIL_TYPES,
} from "../../shared/fastpath/catalog.ts";
import { CATALOG_CASES, IRRELEVANT_EVENTS, MEMBER_ACCOUNT, STOP_EVENTS } from "../fixtures/aws/cloudtrail-events.ts";

describe("fast-path event catalog", () => {
  it("has a CloudTrail-shaped fixture for every catalog event that can expose an address, and both native events", () => {
    const resolvable = Object.keys(CLOUDTRAIL_CATALOG).filter(
      (name) => !["DisassociateAddress", "ReleaseAddress", "ModifySubnetAttribute"].includes(name),
    );
    expect(Object.keys(CATALOG_CASES).sort()).toEqual([...resolvable, ...Object.values(NATIVE_DETAIL_TYPES)].sort());
  });

  for (const [name, fixture] of Object.entries(CATALOG_CASES)) {
    it(`${name}: reads in the event's account and region, with the right lookup`, () => {
      const change = changeFromEvent(fixture.event);
      if (isIrrelevant(change)) throw new Error(`resolved to nothing: ${change.irrelevant}`);
      expect(change.name).toBe(name);
      expect(change.accountId).toBe(MEMBER_ACCOUNT);
      expect(change.region).toBe(fixture.event.region);
      expect(change.eventId).toBe(fixture.event.id);
      expect(change.eventTime).toBe("2026-11-25T10:00:00Z");
      expect(change.stop).toEqual([]);
      expect(change.schedule).toBe(fixture.schedule ?? "change");
      // The first call of the fixture is the lookup's own call.
      const first = fixture.calls[0]!;
      const lookup = change.lookups[0]!;
      expect(change.lookups).toHaveLength(1);
      switch (lookup.kind) {
        case "interfaces":
          expect(first).toBe(`DescribeNetworkInterfaces ${lookup.filter}=${lookup.values.join(",")}`);
          break;
        case "addresses":
          expect(first).toMatch(
            lookup.allocationIds.length > 0
              ? `DescribeAddresses AllocationId=${lookup.allocationIds[0]}`
              : `DescribeAddresses PublicIp=${lookup.publicIps[0]}`,
          );
          break;
        case "network-acls":
          expect(first).toBe(`DescribeNetworkAcls network-acl-id=${lookup.networkAclIds.join(",")}`);
          break;
        case "route-tables":
          expect(first).toBe(`DescribeRouteTables ${lookup.filter}=${lookup.values.join(",")}`);
          break;
        case "prefix-list":
          expect(first).toBe(`GetManagedPrefixListAssociations PrefixListId=${lookup.prefixListId}`);
          break;
        case "lightsail-instances":
          expect(first).toBe(`GetInstance instanceName=${lookup.names.join(",")}`);
          break;
        case "accelerator":
          expect(first).toBe(`DescribeAccelerator AcceleratorArn=${lookup.acceleratorArn}`);
          break;
      }
    });
  }

  it("DisassociateAddress and ReleaseAddress stop the address's pending probes instead of reading anything", () => {
    const cases = [
      [STOP_EVENTS.DisassociateAddress, ["association:eipassoc-0000000000000002"]],
      [STOP_EVENTS.ReleaseAddress, ["allocation:eipalloc-0000000000000002"]],
      [STOP_EVENTS.ReleaseAddressByIp, ["ip:35.171.0.11"]],
    ] as const;
    for (const [event, stop] of cases) {
      const change = changeFromEvent(event);
      if (isIrrelevant(change)) throw new Error(change.irrelevant);
      expect(change.lookups).toEqual([]);
      expect(change.stop).toEqual(stop);
    }
  });

  for (const [name, event] of Object.entries(IRRELEVANT_EVENTS)) {
    it(`${name} resolves to nothing, with a reason`, () => {
      const change = changeFromEvent(event);
      expect(isIrrelevant(change)).toBe(true);
      expect((change as { irrelevant: string }).irrelevant.length).toBeGreaterThan(5);
    });
  }

  it("forwards exactly the catalog's names per source (what the member-account rules match)", () => {
    const names = catalogEventNames();
    expect(Object.keys(names).sort()).toEqual([
      "aws.ec2",
      "aws.elasticloadbalancing",
      "aws.globalaccelerator",
      "aws.lightsail",
    ]);
    expect(names["aws.ec2"]).toContain("DisassociateAddress");
    expect(names["aws.ec2"]).not.toContain("ModifySubnetAttribute");
    expect(names["aws.ec2"]).not.toContain("CreateNetworkInterface");
    expect(Object.values(names).flat()).toHaveLength(Object.keys(CLOUDTRAIL_CATALOG).length - 1);
  });
});
