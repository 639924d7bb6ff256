// The fast path's infrastructure (docs/fastpath.md): the member-account forwarding rules (plain stack and
// StackSet in every enabled region), the central bus open to the organization only, the router and probe
// queues with dead-letter queues, the one-minute armed schedule, the alarms, and bundles that load.
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_FORWARDING_REGIONS, FAST_PATH_ROUTER_ROLE_NAME } from "../../infra/constructs/fast-path.ts";
import { forwardedPatterns } from "../../infra/event-forwarding-stack.ts";
import { FORWARDING_STACK_SET_NAME } from "../../infra/fast-path-stack.ts";
import { MEMBER_STACK_SET_NAME } from "../../infra/monitor-app.ts";
import { CLOUDTRAIL_CATALOG } from "../../shared/fastpath/catalog.ts";
import { ENV } from "../../shared/function-env.ts";
import { logicalIdOf, type SynthesizedApp, synthesizeApp } from "./synth-helper.ts";

const ORG = { organizationId: "o-abcdefghij", memberOrganizationalUnitIds: "r-ab12" };
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe("fast-path infrastructure", () => {
  let synth: SynthesizedApp;
  let fast: Template;
  let forwarding: Template;
  beforeAll(() => {
    synth = synthesizeApp(ORG);
    fast = Template.fromStack(synth.fastPath);
    forwarding = Template.fromStack(synth.eventForwarding);
  });

  it("member accounts forward the catalog's successful CloudTrail calls and instance/task starts to the central bus", () => {
    const rules = forwarding.findResources("AWS::Events::Rule") as Resources;
    const patterns = Object.values(rules).map((rule) => rule.Properties.EventPattern as Record<string, unknown>);
    expect(patterns).toHaveLength(Object.keys(forwardedPatterns()).length);
    const names = patterns.flatMap((p) => ((p.detail as { eventName?: string[] }).eventName ?? []) as string[]);
    expect(names.sort()).toEqual(
      Object.keys(CLOUDTRAIL_CATALOG)
        .filter((n) => n !== "ModifySubnetAttribute")
        .sort(),
    );
    for (const pattern of patterns.filter((p) => (p["detail-type"] as string[])[0] === "AWS API Call via CloudTrail")) {
      expect((pattern.detail as { errorCode: unknown }).errorCode).toEqual([{ exists: false }]);
    }
    expect(patterns).toContainEqual({
      source: ["aws.ec2"],
      "detail-type": ["EC2 Instance State-change Notification"],
      detail: { state: ["running"] },
    });
    expect(patterns).toContainEqual({
      source: ["aws.ecs"],
      "detail-type": ["ECS Task State Change"],
      detail: { lastStatus: ["RUNNING"] },
    });
    for (const rule of Object.values(rules)) {
      expect(rule.Properties.EventBusName).toBe("default");
      expect(rule.Properties.Targets).toEqual([
        { Id: "CentralBus", Arn: { Ref: "CentralBusArn" }, RoleArn: { "Fn::GetAtt": [expect.any(String), "Arn"] } },
      ]);
    }
  });

  it("the forwarding role may only put events on the central bus, and only EventBridge of this account assumes it", () => {
    forwarding.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: "events.amazonaws.com" },
            Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
          }),
        ],
      },
    });
    forwarding.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: [{ Effect: "Allow", Action: "events:PutEvents", Resource: { Ref: "CentralBusArn" } }],
      },
    });
    // A template a StackSet can deploy to accounts never bootstrapped for CDK.
    expect(Object.keys(forwarding.toJSON().Parameters)).toEqual(["CentralBusArn"]);
    expect(forwarding.toJSON().Rules).toBeUndefined();
  });

  it("deploys the forwarding rules with a service-managed, auto-deploying StackSet in every enabled region", () => {
    const stackSets = fast.findResources("AWS::CloudFormation::StackSet", {
      Properties: { StackSetName: FORWARDING_STACK_SET_NAME },
    }) as Resources;
    const [stackSet] = Object.values(stackSets);
    expect(Object.keys(stackSets)).toHaveLength(1);
    const props = stackSet!.Properties;
    expect(props.PermissionModel).toBe("SERVICE_MANAGED");
    expect(props.AutoDeployment).toEqual({ Enabled: true, RetainStacksOnAccountRemoval: false });
    expect(props.StackInstancesGroup).toEqual([
      { DeploymentTargets: { OrganizationalUnitIds: ["r-ab12"] }, Regions: [...DEFAULT_FORWARDING_REGIONS] },
    ]);
    expect(props.Parameters).toEqual([
      { ParameterKey: "CentralBusArn", ParameterValue: { "Fn::GetAtt": [expect.any(String), "Arn"] } },
    ]);
    // The same rules as the management account's plain stack.
    const body = JSON.parse(props.TemplateBody as string) as { Resources: unknown; Parameters: unknown };
    expect(body.Resources).toEqual(forwarding.toJSON().Resources);
    expect(body.Parameters).toEqual(forwarding.toJSON().Parameters);
    // With explicit regions, exactly those.
    const regional = Template.fromStack(synthesizeApp({ ...ORG, regions: "eu-west-1,eu-central-1" }).fastPath);
    regional.hasResourceProperties("AWS::CloudFormation::StackSet", {
      StackInstancesGroup: [Match.objectLike({ Regions: ["eu-west-1", "eu-central-1"] })],
    });
  });

  it("the central bus accepts events from the organization only (this account only without an organization id)", () => {
    fast.hasResourceProperties("AWS::Events::EventBusPolicy", {
      Statement: {
        Effect: "Allow",
        Action: "events:PutEvents",
        Principal: "*",
        Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abcdefghij" } },
      },
    });
    const single = Template.fromStack(synthesizeApp().fastPath);
    single.hasResourceProperties("AWS::Events::EventBusPolicy", {
      Statement: Match.objectLike({
        Principal: { AWS: { "Fn::Join": ["", Match.arrayWith([":root"])] } },
      }),
    });
    expect(single.findResources("AWS::CloudFormation::StackSet")).toEqual({});
  });

  it("routes the bus to an encrypted router queue and schedules probes on fast-probe queues (IPv4, IPv6), each with a dead-letter queue", () => {
    const queues = fast.findResources("AWS::SQS::Queue") as Resources;
    expect(Object.keys(queues)).toHaveLength(6);
    const redriven = Object.values(queues).filter((q) => q.Properties.RedrivePolicy !== undefined);
    expect(redriven).toHaveLength(3);
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      // Delays are per message (the re-probe schedule), never a queue-wide default.
      expect(queue.Properties.DelaySeconds).toBeUndefined();
    }
    for (const queue of redriven)
      expect((queue.Properties.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount).toBe(3);
    fast.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: { Ref: Match.anyValue() },
      Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: Match.anyValue() })],
    });
    const mappings = Object.values(fast.findResources("AWS::Lambda::EventSourceMapping") as Resources);
    expect(mappings).toHaveLength(3);
    for (const mapping of mappings)
      expect(mapping.Properties.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
  });

  it("probes the armed tier every minute, and the member role trusts the router by its fixed name", () => {
    const schedules = Object.values(fast.findResources("AWS::Scheduler::Schedule") as Resources);
    // One schedule per armed function: IPv4 outside the VPC, IPv6 in the scanner VPC.
    expect(schedules.map((schedule) => schedule.Properties.ScheduleExpression)).toEqual([
      "rate(1 minute)",
      "rate(1 minute)",
    ]);
    fast.hasResourceProperties("AWS::IAM::Role", { RoleName: FAST_PATH_ROUTER_ROLE_NAME });
    const stackSet = Object.values(
      fast.findResources("AWS::CloudFormation::StackSet", {
        Properties: { StackSetName: MEMBER_STACK_SET_NAME },
      }) as Resources,
    )[0]!;
    expect(stackSet.Properties.Parameters).toContainEqual({
      ParameterKey: "FastPathRoleArn",
      ParameterValue: { "Fn::GetAtt": [logicalIdOf(synth.fastPath.fastPath.router.role), "Arn"] },
    });
  });

  it("IPv6 endpoints go to twins of the fast probe and the armed function in the scanner VPC (no IPv6 egress outside a VPC)", () => {
    const { fastPath } = synth.fastPath;
    const ipv6 = fastPath.ipv6;
    expect(ipv6).not.toBeNull();
    const resources = fast.toJSON().Resources as Resources;
    const fn = (construct: Parameters<typeof logicalIdOf>[0]) => resources[logicalIdOf(construct)]!.Properties;
    const env = (construct: Parameters<typeof logicalIdOf>[0]) =>
      (fn(construct).Environment as { Variables: Record<string, unknown> }).Variables;
    const scanner = synth.monitor.ipv6Scanner;
    // The router schedules IPv6 targets on the IPv6 queue and may send there.
    expect(env(fastPath.router.fn)[ENV.fastProbeIpv6QueueUrl]).toEqual({ Ref: logicalIdOf(ipv6!.fastProbeQueue) });
    fast.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: logicalIdOf(fastPath.router.role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["sqs:SendMessage"]),
            Resource: { "Fn::GetAtt": [logicalIdOf(ipv6!.fastProbeQueue), "Arn"] },
          }),
        ]),
      },
    });
    // The twins run in the scanner subnets with IPv6 allowed, prove their path first, and are not traced.
    for (const twin of [ipv6!.fastProbe.fn, ipv6!.armed.fn]) {
      const props = fn(twin);
      expect(props.VpcConfig).toMatchObject({ Ipv6AllowedForDualStack: true });
      const subnets = (props.VpcConfig as { SubnetIds: unknown[] }).SubnetIds;
      expect(subnets).toHaveLength(scanner.vpc.isolatedSubnets.length);
      expect(env(twin)[ENV.probeIpv6SelfTest]).toEqual(synth.fastPath.resolve(scanner.selfTest));
      expect(props.TracingConfig).toBeUndefined();
    }
    // The IPv4 functions stay outside any VPC, without a self-test; each armed function takes one family.
    for (const outside of [fastPath.fastProbe.fn, fastPath.armed.fn]) {
      expect(fn(outside).VpcConfig).toBeUndefined();
      expect(env(outside)[ENV.probeIpv6SelfTest]).toBeUndefined();
    }
    expect(env(fastPath.armed.fn)[ENV.armedFamily]).toBe("ipv4");
    expect(env(ipv6!.armed.fn)[ENV.armedFamily]).toBe("ipv6");
    // The IPv6 fast probe reads the IPv6 queue.
    fast.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalIdOf(ipv6!.fastProbe.fn) },
      EventSourceArn: { "Fn::GetAtt": [logicalIdOf(ipv6!.fastProbeQueue), "Arn"] },
    });
  });

  it("alarms on p90 event-to-alert latency over 60 s, unreadable accounts, dead letters and function errors", () => {
    fast.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "FastPathEventToAlertMs",
      ExtendedStatistic: "p90",
      Threshold: 60_000,
      ComparisonOperator: "GreaterThanThreshold",
    });
    fast.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "FastPathUnreadable", Threshold: 1 });
    const alarms = Object.values(fast.findResources("AWS::CloudWatch::Alarm") as Resources);
    // Latency, unreadable, three dead-letter queues, five functions.
    expect(alarms).toHaveLength(10);
    for (const alarm of alarms) expect((alarm.Properties.AlarmActions as unknown[]).length).toBe(1);
  });
});

describe("fast-path bundles", () => {
  it("load on Node 22 outside the repository with the stack's environment", async () => {
    const synth = synthesizeApp({}, { bundle: true });
    const template = Template.fromStack(synth.fastPath);
    const functions = Object.values(template.findResources("AWS::Lambda::Function") as Resources);
    expect(functions).toHaveLength(5);
    const env = {
      AWS_REGION: "us-east-1",
      TABLE_NAME: "exposure-monitor",
      FAST_PROBE_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/111122223333/fast",
      PROBE_PORTS: "6379",
      MEMBER_ROLE_NAME: "ExposureMonitorReadOnly",
      EXTERNAL_ID: "exposure-monitor",
      ACCOUNTS: "organization",
      PROBE_SOCKET_CONCURRENCY: "500",
      ARMED_MAX_TARGETS: "5000",
    };
    for (const fn of functions) {
      const key = (fn.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, "");
      const file = join(synth.outdir, `asset.${key}`, "index.mjs");
      const script = `import(${JSON.stringify(file)}).then((m) => console.log(typeof m.handler), (e) => console.log("ERROR " + e.message))`;
      const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
        cwd: tmpdir(),
        env: { PATH: process.env.PATH ?? "", ...env },
        timeout: 60_000,
      });
      expect(stdout.trim()).toBe("function");
    }
  }, 240_000);
});
