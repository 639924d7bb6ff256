// The member-account role: exactly the inventory's read actions, trusting only the monitor's enumerate
// role with the external id, and a template a StackSet can deploy to accounts never bootstrapped for CDK.
import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { logicalIdOf, type SynthesizedApp, synthesizeApp } from "./synth-helper.ts";

interface PolicyResource {
  Condition?: string;
  Properties: {
    Roles: unknown[];
    PolicyDocument: {
      Statement: Array<{ Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown }>;
    };
  };
}

describe("member-account role stack", () => {
  let synth: SynthesizedApp;
  let template: Template;
  beforeAll(() => {
    synth = synthesizeApp();
    template = synth.memberTemplate;
  });

  it("creates one role named ExposureMonitorReadOnly trusting only the monitor role with the external id", () => {
    template.resourceCountIs("AWS::IAM::Role", 1);
    template.hasResourceProperties("AWS::IAM::Role", {
      RoleName: "ExposureMonitorReadOnly",
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: "Allow",
            Action: "sts:AssumeRole",
            Principal: { AWS: { Ref: "MonitorRoleArn" } },
            Condition: { StringEquals: { "sts:ExternalId": { Ref: "ExternalId" } } },
          },
        ],
      },
      ManagedPolicyArns: Match.absent(),
      Policies: Match.absent(),
    });
  });

  it("allows exactly the inventory's read actions, and organizations:ListAccounts only where asked", () => {
    const policies = template.findResources("AWS::IAM::Policy") as Record<string, PolicyResource>;
    expect(Object.keys(policies)).toHaveLength(2);
    const roleRef = { Ref: logicalIdOf(synth.memberRole.role) };
    const everywhere = Object.values(policies).filter((p) => p.Condition === undefined);
    const conditional = Object.values(policies).filter((p) => p.Condition !== undefined);
    expect(everywhere).toHaveLength(1);
    expect(conditional).toHaveLength(1);

    const statements = everywhere[0]!.Properties.PolicyDocument.Statement;
    expect(everywhere[0]!.Properties.Roles).toEqual([roleRef]);
    expect(statements.every((s) => s.Effect === "Allow" && s.Resource === "*")).toBe(true);
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      "ec2:DescribeAddresses",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRegions",
      "globalaccelerator:ListAccelerators",
      "lightsail:GetInstances",
      "lightsail:GetStaticIps",
    ]);

    const orgPolicy = conditional[0]!;
    expect(orgPolicy.Properties.Roles).toEqual([roleRef]);
    expect(orgPolicy.Properties.PolicyDocument.Statement).toEqual([
      { Effect: "Allow", Action: "organizations:ListAccounts", Resource: "*" },
    ]);
    template.hasCondition(orgPolicy.Condition!, { "Fn::Equals": [{ Ref: "GrantOrganizationsRead" }, "true"] });
  });

  it("takes its inputs as parameters and needs no CDK bootstrap, so a StackSet can deploy it", () => {
    template.hasParameter("MonitorRoleArn", { Type: "String", AllowedPattern: Match.stringLikeRegexp("iam") });
    template.hasParameter("ExternalId", { Type: "String", MinLength: 2 });
    template.hasParameter("GrantOrganizationsRead", { Default: "false", AllowedValues: ["true", "false"] });
    const json = template.toJSON();
    expect(Object.keys(json.Parameters)).not.toContain("BootstrapVersion");
    expect(json.Rules).toBeUndefined();
    // Nothing but IAM: no assets, no custom resources.
    const types = new Set(Object.values(json.Resources as Record<string, { Type: string }>).map((r) => r.Type));
    expect([...types].sort()).toEqual(["AWS::IAM::Policy", "AWS::IAM::Role"]);
  });

  it("uses the role name the monitor was configured with", () => {
    const renamed = synthesizeApp({ memberRoleName: "SecurityScannerRead" });
    renamed.memberTemplate.hasResourceProperties("AWS::IAM::Role", { RoleName: "SecurityScannerRead" });
    renamed.monitorTemplate.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ MEMBER_ROLE_NAME: "SecurityScannerRead" }) },
    });
  });
});
