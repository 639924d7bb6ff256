// Builds the app's stacks from CDK context and plugs cdk-nag in; shared by infra/app.ts and the tests.
import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { monitorConfigFromContext } from "./config.ts";
import { MemberStackSet, templateBodyOf } from "./constructs/member-stack-set.ts";
import { MemberRoleStack, type MemberRoleStackProps } from "./member-role-stack.ts";
import { MonitorStack } from "./monitor-stack.ts";

export const MONITOR_STACK_NAME = "ExposureMonitor";
export const MEMBER_ROLE_STACK_NAME = "ExposureMonitorMemberRole";
export const MEMBER_STACK_SET_NAME = "exposure-monitor-member-role";

export interface MonitorApp {
  monitor: MonitorStack;
  memberRole: MemberRoleStack;
  /** The StackSet deploying the member stack to the organization; only with memberOrganizationalUnitIds. */
  memberStackSet: MemberStackSet | null;
}

export function buildMonitorApp(app: App): MonitorApp {
  const config = monitorConfigFromContext(app.node);
  const monitor = new MonitorStack(app, MONITOR_STACK_NAME, {
    description: "Exposure Monitor: continuous external Redis exposure scanning of an AWS organization",
    config,
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
      : new MemberStackSet(monitor, "MemberStackSet", {
          stackSetName: MEMBER_STACK_SET_NAME,
          description: "Exposure Monitor member-account stack (read-only role), deployed by the monitor stack",
          templateBody: templateBodyOf((own) => new MemberRoleStack(own, MEMBER_ROLE_STACK_NAME, memberProps)),
          parameters: { MonitorRoleArn: monitor.enumerate.role.roleArn, ExternalId: config.externalId },
          organizationalUnitIds: config.memberOrganizationalUnitIds,
          callAs: config.stackSetCallAs,
          regions: [monitor.region],
        });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { monitor, memberRole, memberStackSet };
}
