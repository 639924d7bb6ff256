// The fast path (docs/fastpath.md) in the monitor account, as a stack beside the monitor stack: the central
// bus, router, fast-probe and armed functions with their queues, schedule and alarms, and the StackSet
// that deploys the member-account event rules (infra/event-forwarding-stack.ts) to every account and
// enabled region. It uses the monitor's table and operations topic.
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Topic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import type { MonitorConfig } from "./config.ts";
import { DEFAULT_FORWARDING_REGIONS, FastPath, type FastPathProps } from "./constructs/fast-path.ts";
import { MemberStackSet, templateBodyOf } from "./constructs/member-stack-set.ts";
import { EventForwardingStack } from "./event-forwarding-stack.ts";

export const FORWARDING_STACK_NAME = "ExposureMonitorEventForwarding";
export const FORWARDING_STACK_SET_NAME = "exposure-monitor-event-forwarding";

export interface FastPathStackProps extends StackProps {
  config: MonitorConfig;
  table: Table;
  opsTopic: Topic;
  /** The monitor's IPv6 scanner subnets and self-test (FastPathProps.ipv6). */
  ipv6?: FastPathProps["ipv6"];
}

export class FastPathStack extends Stack {
  readonly fastPath: FastPath;
  /** Only with memberOrganizationalUnitIds (like the member-role StackSet). */
  readonly forwardingStackSet: MemberStackSet | null;

  constructor(scope: Construct, id: string, props: FastPathStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.fastPath = new FastPath(this, "FastPath", {
      config,
      table: props.table,
      alarmAction: new SnsAction(props.opsTopic),
      logRetention: retention(config.logRetentionDays),
      ...(props.ipv6 !== undefined ? { ipv6: props.ipv6 } : {}),
    });
    this.forwardingStackSet =
      config.memberOrganizationalUnitIds.length === 0
        ? null
        : new MemberStackSet(this, "EventForwardingStackSet", {
            stackSetName: FORWARDING_STACK_SET_NAME,
            description: "Exposure Monitor fast path: member-account event rules, in every enabled region",
            templateBody: templateBodyOf((own) => new EventForwardingStack(own, FORWARDING_STACK_NAME)),
            parameters: { CentralBusArn: this.fastPath.bus.eventBusArn },
            organizationalUnitIds: config.memberOrganizationalUnitIds,
            callAs: config.stackSetCallAs,
            regions: config.regions.length > 0 ? config.regions : [...DEFAULT_FORWARDING_REGIONS],
          });
    new CfnOutput(this, "FastPathBusArn", {
      value: this.fastPath.bus.eventBusArn,
      description: "CentralBusArn parameter of the event-forwarding stack (management account)",
    });
    new CfnOutput(this, "FastPathRouterRoleArn", {
      value: this.fastPath.router.role.roleArn,
      description: "FastPathRoleArn parameter of the member-account role stack",
    });
  }
}

function retention(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((v): v is RetentionDays => typeof v === "number");
  return allowed.filter((v) => v >= days).sort((a, b) => a - b)[0] ?? RetentionDays.INFINITE;
}
