// IPv6 in AWS: IPv6 shards have their own queue, and a second probe function (the same code) runs in a
// dedicated dual-stack scanner VPC whose only way out is IPv6 through an egress-only gateway, with a
// self-test target; nothing in that VPC reaches an organization network (docs/readme-probe.md).
import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../shared/function-env.ts";
import { logicalIdOf, type SynthesizedApp, synthesizeApp } from "./synth-helper.ts";

const ref = (construct: Parameters<typeof logicalIdOf>[0]) => ({ Ref: logicalIdOf(construct) });

describe("the IPv6 scanner", () => {
  let synth: SynthesizedApp;
  let template: Template;
  beforeAll(() => {
    synth = synthesizeApp();
    template = synth.monitorTemplate;
  }, 120_000);

  it("builds a dual-stack VPC whose only way out is IPv6 through an egress-only gateway", () => {
    const scanner = synth.monitor.ipv6Scanner;
    template.resourceCountIs("AWS::EC2::VPC", 1);
    template.resourceCountIs("AWS::EC2::VPCCidrBlock", 1);
    template.hasResourceProperties("AWS::EC2::VPCCidrBlock", { AmazonProvidedIpv6CidrBlock: true });
    template.resourceCountIs("AWS::EC2::EgressOnlyInternetGateway", 1);
    // No way out for IPv4 and nothing into an organization's networks.
    for (const type of [
      "AWS::EC2::NatGateway",
      "AWS::EC2::InternetGateway",
      "AWS::EC2::VPCPeeringConnection",
      "AWS::EC2::TransitGatewayAttachment",
      "AWS::EC2::VPNGateway",
      "AWS::EC2::VPNConnection",
    ]) {
      template.resourceCountIs(type, 0);
    }
    const subnets = Object.values(template.findResources("AWS::EC2::Subnet"));
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) {
      expect(subnet.Properties.Ipv6CidrBlock).toBeDefined();
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    }
    // Every subnet's route table sends ::/0 to the egress-only gateway, and nothing else leaves.
    const routes = Object.values(template.findResources("AWS::EC2::Route"));
    expect(routes).toHaveLength(2);
    for (const route of routes) {
      expect(route.Properties).toMatchObject({
        DestinationIpv6CidrBlock: "::/0",
        EgressOnlyInternetGatewayId: { "Fn::GetAtt": [synth.monitor.getLogicalId(scanner.egressOnlyGateway), "Id"] },
      });
    }
    // The table through a gateway endpoint, free and inside AWS.
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", {
      VpcEndpointType: "Gateway",
      ServiceName: Match.objectLike({ "Fn::Join": Match.arrayWith([Match.arrayWith([".dynamodb"])]) }),
    });
    template.hasResourceProperties("AWS::EC2::FlowLog", { TrafficType: "REJECT" });
  });

  it("runs the probe code in that VPC with IPv6 allowed, a self-test target and its own queue", () => {
    const scanner = synth.monitor.ipv6Scanner;
    const fn = template.findResources("AWS::Lambda::Function")[logicalIdOf(scanner.probe.fn)];
    expect(fn?.Properties.VpcConfig).toMatchObject({ Ipv6AllowedForDualStack: true });
    expect(fn?.Properties.VpcConfig.SubnetIds).toHaveLength(2);
    const probeFn = template.findResources("AWS::Lambda::Function")[logicalIdOf(synth.monitor.probe.fn)];
    expect(fn?.Properties.Handler).toBe(probeFn?.Properties.Handler);
    expect(fn?.Properties.Environment.Variables[ENV.probeIpv6SelfTest]).toEqual({
      "Fn::Join": ["", ["s3.dualstack.", { Ref: "AWS::Region" }, ".amazonaws.com:443"]],
    });
    expect(probeFn?.Properties.Environment.Variables[ENV.probeIpv6SelfTest]).toBeUndefined();
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [logicalIdOf(scanner.queue), "Arn"] },
      FunctionName: ref(scanner.probe.fn),
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [logicalIdOf(scanner.deadLetterQueue), "Arn"] } },
    });
    // Outbound only.
    const groups = Object.values(template.findResources("AWS::EC2::SecurityGroup"));
    expect(groups).toHaveLength(1);
    expect(groups[0]?.Properties.SecurityGroupIngress).toBeUndefined();
    expect(groups[0]?.Properties.SecurityGroupEgress).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ CidrIp: "0.0.0.0/0" }),
        expect.objectContaining({ CidrIpv6: "::/0" }),
      ]),
    );
  });

  it("lets the enumerate function send IPv6 shards to that queue, and alarms to the operations topic", () => {
    const scanner = synth.monitor.ipv6Scanner;
    const enumerate = template.findResources("AWS::Lambda::Function")[logicalIdOf(synth.monitor.enumerate.fn)];
    expect(enumerate?.Properties.Environment.Variables[ENV.ipv6ShardQueueUrl]).toEqual(ref(scanner.queue));
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [ref(synth.monitor.enumerate.role)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["sqs:SendMessage"]),
            Resource: { "Fn::GetAtt": [logicalIdOf(scanner.queue), "Arn"] },
          }),
        ]),
      },
    });
    for (const metric of [
      { Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible" },
      {
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Dimensions: [{ Name: "FunctionName", Value: ref(scanner.probe.fn) }],
      },
    ]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        ...metric,
        AlarmActions: [ref(synth.monitor.opsTopic)],
      });
    }
  });
});
