// The path in words and the commands that close it (shared/inventory/path/text.ts).
import { describe, expect, it } from "vitest";
import type { ExposurePath } from "../../shared/exposure/model.ts";
import { closingSteps, pathCell, pathLine } from "../../shared/inventory/path/text.ts";

const OPEN: ExposurePath = {
  verdict: "open",
  scope: "any",
  reason: "sgr-0a1 (sg-0b2) admits 0.0.0.0/0 on TCP 6379; ...",
  rules: [{ groupId: "sg-0b2", ruleId: "sgr-0a1", protocol: "tcp", fromPort: 6000, toPort: 7000, source: "0.0.0.0/0" }],
  networkAcl: { networkAclId: "acl-0c3", ruleNumber: 100, action: "allow", source: "0.0.0.0/0" },
  route: { routeTableId: "rtb-0d4", main: false, destination: "0.0.0.0/0", target: "igw-0e5" },
};

describe("path text", () => {
  it("names the rule to change and gives the command that revokes it in the owning region", () => {
    expect(closingSteps(OPEN, 6379, "eu-west-1")).toEqual([
      {
        change: "Remove security-group rule sgr-0a1 of sg-0b2 (admits 0.0.0.0/0 on TCP 6000-7000)",
        command:
          "aws ec2 revoke-security-group-ingress --group-id sg-0b2 --security-group-rule-ids sgr-0a1 --region eu-west-1",
      },
    ]);
    expect(pathLine(OPEN)).toBe("open: sgr-0a1 (sg-0b2) admits 0.0.0.0/0; acl-0c3 #100; rtb-0d4 -> igw-0e5");
    expect(pathCell(OPEN)).toBe("open sgr-0a1");
  });

  it("without a security group (an NLB), denies the port in the network ACL before the allowing entry", () => {
    const nlb: ExposurePath = {
      ...OPEN,
      rules: [],
      listener: { loadBalancer: "cache-nlb", type: "network", protocol: "TCP", port: 6379 },
    };
    expect(closingSteps(nlb, 6379, "us-east-1")).toEqual([
      {
        change: "Deny TCP 6379 in network ACL acl-0c3 before entry 100 (which allows 0.0.0.0/0)",
        command:
          "aws ec2 create-network-acl-entry --network-acl-id acl-0c3 --ingress --rule-number 99 --protocol tcp --port-range From=6379,To=6379 --cidr-block 0.0.0.0/0 --rule-action deny --region us-east-1",
      },
    ]);
    expect(pathCell(nlb)).toBe("open cache-nlb");
  });

  it("gives no command for an id that does not look like one, and no steps for a path that is not open", () => {
    const odd: ExposurePath = { ...OPEN, rules: [{ ...OPEN.rules![0]!, groupId: "sg-0b2; rm -rf /" }] };
    expect(closingSteps(odd, 6379, "eu-west-1")[0]!.command).toBeNull();
    expect(closingSteps({ verdict: "closed", layer: "route", reason: "no route" }, 6379, "eu-west-1")).toEqual([]);
    expect(pathLine({ verdict: "closed", layer: "route", reason: "no route" })).toBe("closed at route: no route");
    expect(pathCell({ verdict: "unknown", layer: "resource", reason: "x" })).toBe("unknown resource");
  });
});
