// IPv6 in AWS (docs/readme-probe.md, "IPv6 in AWS"): a Lambda function outside a VPC has no IPv6 egress,
// so IPv6 shards go to a queue of their own and a second probe function (the same code) attached to a
// dedicated scanner VPC: dual-stack subnets, `::/0` to an egress-only internet gateway, no NAT gateway, no
// internet gateway, no peering, transit gateway or VPN to any organization network (the view must be from
// outside), and a DynamoDB gateway endpoint for the table. Every invocation first makes a self-test
// connection over IPv6; without it the shard fails, is retried and finally dead-lettered, never recorded.
import { Duration, Stack, Validations } from "aws-cdk-lib";
import type { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import {
  CfnEgressOnlyInternetGateway,
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  IpProtocol,
  SecurityGroup,
  type Subnet,
  SubnetType,
  Vpc,
} from "aws-cdk-lib/aws-ec2";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { probeEnvironment } from "../../shared/function-env.ts";
import {
  PROBE_BATCH_SIZE,
  PROBE_BATCHING_WINDOW_SECONDS,
  PROBE_MEMORY_MB,
  PROBE_SOCKET_CONCURRENCY,
  PROBE_TIMEOUT_SECONDS,
} from "../sizing.ts";
import { functionErrorsAlarm, messagesWaitingAlarm, notifyOnAlarmAndOk, shardQueues } from "./alarms.ts";
import { MonitorFunction, type MonitorFunctionProps, type TableGrant } from "./monitor-function.ts";

export interface Ipv6ScannerProps {
  table: Table;
  /** The table access of the IPv4 probe function: the same code needs the same grants. */
  tableAccess: readonly TableGrant[];
  allowedMasters: readonly string[];
  eventRetentionDays?: number;
  maxConcurrency: number;
  logRetention: RetentionDays;
  /** Where this construct's alarms go (the operations topic). */
  alarmAction: SnsAction;
  /** Reached over IPv6 before each shard; default S3's dual-stack endpoint of the region, port 443. */
  selfTest?: string;
}

export class Ipv6Scanner extends Construct {
  readonly vpc: Vpc;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly probe: MonitorFunction;
  readonly egressOnlyGateway: CfnEgressOnlyInternetGateway;
  /** Where a function probing IPv6 runs: the scanner subnets, outbound only (the fast path's IPv6 twins too). */
  readonly network: NonNullable<MonitorFunctionProps["network"]>;
  /** What such a function reaches over IPv6 before probing (ENV.probeIpv6SelfTest). */
  readonly selfTest: string;

  constructor(scope: Construct, id: string, props: Ipv6ScannerProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // Isolated subnets: no internet gateway and no NAT for IPv4; IPv6 leaves through the egress-only gateway.
    this.vpc = new Vpc(this, "Vpc", {
      ipProtocol: IpProtocol.DUAL_STACK,
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "Scanner", subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    // A dual-stack Vpc makes its egress-only gateway ("EIGW6"), but routes isolated subnets to nothing.
    const gateway = this.vpc.node.tryFindChild("EIGW6");
    this.egressOnlyGateway =
      gateway instanceof CfnEgressOnlyInternetGateway
        ? gateway
        : new CfnEgressOnlyInternetGateway(this, "EgressOnlyGateway", { vpcId: this.vpc.vpcId });
    for (const subnet of this.vpc.isolatedSubnets) {
      (subnet as Subnet).addIpv6DefaultEgressOnlyInternetRoute(this.egressOnlyGateway.attrId);
    }
    // The table over the AWS network: DynamoDB answers on IPv4, which has no other way out of these subnets.
    this.vpc.addGatewayEndpoint("DynamoDb", {
      service: GatewayVpcEndpointAwsService.DYNAMODB,
      subnets: [{ subnetType: SubnetType.PRIVATE_ISOLATED }],
    });
    this.vpc.addFlowLog("RejectedFlows", {
      destination: FlowLogDestination.toCloudWatchLogs(
        new LogGroup(this, "FlowLogs", { retention: props.logRetention }),
      ),
      trafficType: FlowLogTrafficType.REJECT,
    });

    const securityGroup = new SecurityGroup(this, "ProbeSecurityGroup", {
      vpc: this.vpc,
      description: "Exposure Monitor IPv6 probe: outbound only",
      allowAllOutbound: true,
      allowAllIpv6Outbound: true,
    });
    this.network = {
      vpc: this.vpc,
      subnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      ipv6AllowedForDualStack: true,
    };
    this.selfTest = props.selfTest ?? `s3.dualstack.${stack.region}.amazonaws.com:443`;

    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = shardQueues(this));
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "AwsSolutions::AwsSolutions-SQS3",
      reason: "This queue is itself the dead-letter queue of the IPv6 shard queue; it is alarmed when not empty.",
    });

    this.probe = new MonitorFunction(this, "Probe", {
      handler: "probe",
      // No IPv4 path to X-Ray from the scanner subnets, and the IPv4 probe function is not traced either.
      tracing: false,
      description: "Probes one shard of public IPv6 endpoints from the dual-stack scanner VPC and records what changed",
      memoryMb: PROBE_MEMORY_MB,
      timeout: Duration.seconds(PROBE_TIMEOUT_SECONDS),
      logRetention: props.logRetention,
      environment: probeEnvironment({
        socketConcurrency: PROBE_SOCKET_CONCURRENCY,
        allowedMasters: props.allowedMasters,
        ...(props.eventRetentionDays !== undefined ? { eventRetentionDays: props.eventRetentionDays } : {}),
        ipv6SelfTest: this.selfTest,
      }),
      network: this.network,
    });
    this.probe.bindTable(props.table, props.tableAccess);
    this.probe.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: PROBE_BATCH_SIZE,
        maxBatchingWindow: Duration.seconds(PROBE_BATCHING_WINDOW_SECONDS),
        maxConcurrency: props.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    notifyOnAlarmAndOk(
      [
        messagesWaitingAlarm(
          this,
          "DeadLetterAlarm",
          this.deadLetterQueue,
          "IPv6 shards failed every retry (self-test or probe errors): IPv6 addresses were not probed.",
        ),
        functionErrorsAlarm(
          this,
          "ErrorsAlarm",
          this.probe,
          "The IPv6 probe function failed (its self-test connection over IPv6 included).",
        ),
      ],
      props.alarmAction,
    );
  }
}
