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

  it("creates one role named ExposureMonitorReadOnly trusting only the monitor's roles with the external id", () => {
    template.resourceCountIs("AWS::IAM::Role", 1);
    template.hasResourceProperties("AWS::IAM::Role", {
      RoleName: "ExposureMonitorReadOnly",
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: "Allow",
            Action: "sts:AssumeRole",
            // The enumerate role, and the fast-path router's when its parameter is set.
            Principal: {
              AWS: [
                { Ref: "MonitorRoleArn" },
                { "Fn::If": ["HasFastPathRole", { Ref: "FastPathRoleArn" }, { Ref: "AWS::NoValue" }] },
              ],
            },
            Condition: { StringEquals: { "sts:ExternalId": { Ref: "ExternalId" } } },
          },
        ],
      },
      ManagedPolicyArns: Match.absent(),
      Policies: Match.absent(),
    });
  });

  it("allows exactly the inventory's read actions and nothing from Organizations", () => {
    const policies = Object.values(template.findResources("AWS::IAM::Policy")) as PolicyResource[];
    expect(policies).toHaveLength(1);
    const policy = policies[0]!;
    expect(policy.Condition).toBeUndefined();
    expect(policy.Properties.Roles).toEqual([{ Ref: logicalIdOf(synth.memberRole.role) }]);
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements.every((s) => s.Effect === "Allow" && s.Resource === "*" && s.Condition === undefined)).toBe(true);
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      "ec2:DescribeAddresses",
      "ec2:DescribeInstances",
      "ec2:DescribeNetworkAcls",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRegions",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroupRules",
      "ec2:GetManagedPrefixListAssociations",
      "ec2:GetManagedPrefixListEntries",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancers",
      "globalaccelerator:DescribeAccelerator",
      "globalaccelerator:ListAccelerators",
      "lightsail:GetInstance",
      "lightsail:GetInstances",
      "lightsail:GetStaticIps",
      "rds:DescribeDBInstances",
    ]);
  });

  it("takes its inputs as parameters and needs no CDK bootstrap, so a StackSet can deploy it", () => {
    template.hasParameter("MonitorRoleArn", { Type: "String", AllowedPattern: Match.stringLikeRegexp("iam") });
    template.hasParameter("ExternalId", { Type: "String", MinLength: 2 });
    const json = template.toJSON();
    expect(Object.keys(json.Parameters).sort()).toEqual(["ExternalId", "FastPathRoleArn", "MonitorRoleArn"]);
    // Optional: a stack deployed before the fast path existed keeps working.
    expect(json.Parameters.FastPathRoleArn.Default).toBe("");
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
