// `npm run deploy`: the member-role StackSet (service-managed, created once the roles it trusts exist, auto-deployed to
// the chosen organization root or OUs, its template the member stack's own), the context checks that
// stop a deploy before anything touches AWS, and the documented example context.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTEXT_KEYS, ConfigError } from "../../infra/config.ts";
import { DEPLOYED_STACKS, DeployError, deployPlan } from "../../infra/deploy.ts";
import { FORWARDING_STACK_NAME, FORWARDING_STACK_SET_NAME } from "../../infra/fast-path-stack.ts";
import {
  FAST_PATH_STACK_NAME,
  MEMBER_ROLE_STACK_NAME,
  MEMBER_STACK_SET_NAME,
  MONITOR_STACK_NAME,
} from "../../infra/monitor-app.ts";
import { logicalIdOf, type SynthesizedApp, synthesizeApp } from "./synth-helper.ts";

const ROOT = join(import.meta.dirname, "../..");

describe("the member-role StackSet", () => {
  let synthesized: SynthesizedApp;
  beforeAll(() => {
    synthesized = synthesizeApp({
      memberOrganizationalUnitIds: "r-ab12,ou-ab12-cdef3456",
      stackSetCallAs: "DELEGATED_ADMIN",
      externalId: "ext-123",
    });
  });

  it("is service-managed, auto-deployed to the chosen OUs in the monitor's region", () => {
    Template.fromStack(synthesized.fastPath).hasResourceProperties("AWS::CloudFormation::StackSet", {
      StackSetName: MEMBER_STACK_SET_NAME,
      PermissionModel: "SERVICE_MANAGED",
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      CallAs: "DELEGATED_ADMIN",
      Capabilities: ["CAPABILITY_NAMED_IAM"],
      StackInstancesGroup: [
        {
          DeploymentTargets: { OrganizationalUnitIds: ["r-ab12", "ou-ab12-cdef3456"] },
          Regions: [{ Ref: "AWS::Region" }],
        },
      ],
    });
  });

  it("deploys exactly the member stack's template, every parameter filled", () => {
    const [stackSet] = Object.values(
      Template.fromStack(synthesized.fastPath).findResources("AWS::CloudFormation::StackSet", {
        Properties: { StackSetName: MEMBER_STACK_SET_NAME },
      }),
    );
    const properties = (stackSet as { Properties: { TemplateBody: string; Parameters: unknown[] } }).Properties;
    const memberTemplate = synthesized.memberTemplate.toJSON() as { Parameters: Record<string, unknown> };
    expect(JSON.parse(properties.TemplateBody)).toEqual(memberTemplate);
    // Both trusted roles by reference, so CloudFormation creates the StackSet only after both exist (IAM
    // refuses a trust policy naming a role that does not exist).
    const routerRole = logicalIdOf(synthesized.fastPath.fastPath.router.role);
    expect(properties.Parameters).toEqual(
      expect.arrayContaining([
        {
          ParameterKey: "MonitorRoleArn",
          ParameterValue: {
            "Fn::ImportValue": expect.stringContaining(logicalIdOf(synthesized.monitor.enumerate.role)),
          },
        },
        { ParameterKey: "FastPathRoleArn", ParameterValue: { "Fn::GetAtt": [routerRole, "Arn"] } },
        { ParameterKey: "ExternalId", ParameterValue: "ext-123" },
      ]),
    );
    expect(properties.Parameters).toHaveLength(Object.keys(memberTemplate.Parameters).length);
  });

  it("is absent without target OUs", () => {
    const none = synthesizeApp();
    none.monitorTemplate.resourceCountIs("AWS::CloudFormation::StackSet", 0);
    Template.fromStack(none.fastPath).resourceCountIs("AWS::CloudFormation::StackSet", 0);
    synthesizeApp({ accounts: "current" }).monitorTemplate.hasResource("AWS::Lambda::Function", Match.anyValue());
  });
});

describe("deploy context checks", () => {
  const root = `${mkdtempSync(join(tmpdir(), "exposure-deploy-"))}/`;
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("deploys the monitor and fast-path stacks after bootstrapping, passing the context on", () => {
    const plan = deployPlan(["-c", "memberOrganizationalUnitIds=r-ab12", "--require-approval", "never"], root);
    expect(plan.commands).toEqual([
      ["cdk", "bootstrap", "-c", "memberOrganizationalUnitIds=r-ab12"],
      [
        "cdk",
        "deploy",
        "ExposureMonitor",
        "ExposureMonitorFastPath",
        "-c",
        "memberOrganizationalUnitIds=r-ab12",
        "--require-approval",
        "never",
      ],
    ]);
    expect(deployPlan(["--no-bootstrap", "-c", "accounts=current"], root).commands).toHaveLength(1);
  });

  it("deploys every stack of the app meant for the monitor account, each after the stacks it uses", () => {
    const synthesized = synthesizeApp({ memberOrganizationalUnitIds: "r-ab12" });
    // The member role and the event forwarding go to other accounts, through the StackSets of these two.
    const elsewhere = [MEMBER_ROLE_STACK_NAME, FORWARDING_STACK_NAME];
    const monitorAccount = synthesized.app.node.children
      .filter(Stack.isStack)
      .map((stack) => stack.stackName)
      .filter((name) => !elsewhere.includes(name));
    expect([...DEPLOYED_STACKS].sort()).toEqual(monitorAccount.sort());
    expect(DEPLOYED_STACKS).toEqual([MONITOR_STACK_NAME, FAST_PATH_STACK_NAME]);
    expect(synthesized.fastPath.dependencies.map((stack) => stack.stackName)).toEqual([MONITOR_STACK_NAME]);
    expect(synthesized.monitor.dependencies).toEqual([]);
    Template.fromStack(synthesized.fastPath).resourcePropertiesCountIs(
      "AWS::CloudFormation::StackSet",
      {
        StackSetName: FORWARDING_STACK_SET_NAME,
        StackInstancesGroup: [Match.objectLike({ DeploymentTargets: { OrganizationalUnitIds: ["r-ab12"] } })],
      },
      1,
    );
  });

  it("reads cdk.context.json, with the command line on top", () => {
    writeFileSync(join(root, "cdk.context.json"), JSON.stringify({ memberOrganizationalUnitIds: ["r-zz99"] }));
    expect(deployPlan([], root).config.memberOrganizationalUnitIds).toEqual(["r-zz99"]);
    expect(deployPlan(["-c", "memberOrganizationalUnitIds=r-ab12"], root).config.memberOrganizationalUnitIds).toEqual([
      "r-ab12",
    ]);
    rmSync(join(root, "cdk.context.json"));
  });

  it.each([
    [[], DeployError, /memberOrganizationalUnitIds is needed/],
    [["-c", "memberOrganizationalUnitIds=org-root"], ConfigError, /not an organization root/],
    [["-c", "accounts=current", "-c", "stackSetCallAs=ADMIN"], ConfigError, /SELF or DELEGATED_ADMIN/],
    [["-c", "accounts=current", "-c", "alertEmail=a@example.com"], ConfigError, /did you mean alertEmails/],
    [["-c", "accounts"], DeployError, /needs key=value/],
  ])("refuses %j", (argv, type, message) => {
    expect(() => deployPlan(argv, root)).toThrow(type);
    expect(() => deployPlan(argv, root)).toThrow(message);
  });

  it("exits 2 with one line, before running cdk", () => {
    const result = spawnSync(process.execPath, ["infra/deploy.ts", "-c", "scheduleMinutes=0"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^npm run deploy: context scheduleMinutes must be an integer from 1 to 720/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("cdk.context.example.json", () => {
  const example = JSON.parse(readFileSync(join(ROOT, "cdk.context.example.json"), "utf8")) as Record<string, unknown>;
  const doc = readFileSync(join(ROOT, "docs/readme-deploy.md"), "utf8");

  it("is a valid deployment context", () => {
    const root = `${mkdtempSync(join(tmpdir(), "exposure-deploy-"))}/`;
    writeFileSync(join(root, "cdk.context.json"), JSON.stringify(example));
    const plan = deployPlan(["--dry-run"], root);
    rmSync(root, { recursive: true, force: true });
    expect(plan.config.memberOrganizationalUnitIds).toEqual(example.memberOrganizationalUnitIds);
    expect(plan.config.alertEmails).toEqual(example.alertEmails);
  });

  it("and docs/readme-deploy.md document every context key", () => {
    for (const key of Object.keys(example)) expect(CONTEXT_KEYS).toContain(key);
    for (const key of CONTEXT_KEYS) expect(doc).toContain(`\`${key}\``);
  });
});
