// Builds the app's stacks from CDK context and plugs cdk-nag in; shared by infra/app.ts and the tests.
import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { monitorConfigFromContext } from "./config.ts";
import { MemberStackSet, templateBodyOf } from "./constructs/member-stack-set.ts";
import { EventForwardingStack } from "./event-forwarding-stack.ts";
import { FastPathStack, FORWARDING_STACK_NAME } from "./fast-path-stack.ts";
import { MemberRoleStack, type MemberRoleStackProps } from "./member-role-stack.ts";
import { MonitorStack } from "./monitor-stack.ts";

export const MONITOR_STACK_NAME = "ExposureMonitor";
export const MEMBER_ROLE_STACK_NAME = "ExposureMonitorMemberRole";
export const MEMBER_STACK_SET_NAME = "exposure-monitor-member-role";
export const FAST_PATH_STACK_NAME = "ExposureMonitorFastPath";

export interface MonitorApp {
  monitor: MonitorStack;
  memberRole: MemberRoleStack;
  /** The StackSet deploying the member stack to the organization (in the fast-path stack); only with memberOrganizationalUnitIds. */
  memberStackSet: MemberStackSet | null;
  /** The fast path's monitor-account part and its forwarding StackSet (docs/fastpath.md). */
  fastPath: FastPathStack;
  /** The member-account event rules, as a stack of its own for the management account. */
  eventForwarding: EventForwardingStack;
}

export function buildMonitorApp(app: App): MonitorApp {
  const config = monitorConfigFromContext(app.node);
  const monitor = new MonitorStack(app, MONITOR_STACK_NAME, {
    description: "Exposure Monitor: continuous external exposure scanning of an AWS organization",
    config,
  });
  const fastPath = new FastPathStack(app, FAST_PATH_STACK_NAME, {
    description: "Exposure Monitor fast path: AWS changes to probes within a minute, and the armed tier",
    config,
    table: monitor.table,
    opsTopic: monitor.opsTopic,
    ipv6: { network: monitor.ipv6Scanner.network, selfTest: monitor.ipv6Scanner.selfTest },
  });
  const memberProps: MemberRoleStackProps = {
    description: "Exposure Monitor read-only role for member accounts (deploy with a StackSet)",
    roleName: config.memberRoleName,
  };
  // As a stack of its own: for the management account, where a service-managed StackSet never deploys.
  const memberRole = new MemberRoleStack(app, MEMBER_ROLE_STACK_NAME, memberProps);
  const memberStackSet =
    config.memberOrganizationalUnitIds.length === 0
      ? null
      : // In the fast-path stack, deployed after the monitor stack: the member role's trust policy names the
        // enumerate and router roles, and IAM refuses a trust policy naming a role that does not exist yet.
        new MemberStackSet(fastPath, "MemberStackSet", {
          stackSetName: MEMBER_STACK_SET_NAME,
          description:
            "Exposure Monitor member-account stack (read-only role), deployed once both roles it trusts exist",
          templateBody: templateBodyOf((own) => new MemberRoleStack(own, MEMBER_ROLE_STACK_NAME, memberProps)),
          parameters: {
            MonitorRoleArn: monitor.enumerate.role.roleArn,
            FastPathRoleArn: fastPath.fastPath.router.role.roleArn,
            ExternalId: config.externalId,
          },
          organizationalUnitIds: config.memberOrganizationalUnitIds,
          callAs: config.stackSetCallAs,
          regions: [fastPath.region],
        });
  // As a stack of its own for the management account; a StackSet for every other account and region.
  const eventForwarding = new EventForwardingStack(app, FORWARDING_STACK_NAME, {
    description: "Exposure Monitor fast path: forward AWS changes to the monitor's central bus (management account)",
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { monitor, memberRole, memberStackSet, fastPath, eventForwarding };
}
