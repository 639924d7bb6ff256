// Builds the app's stacks from CDK context and plugs cdk-nag in; shared by infra/app.ts and the tests.
import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { monitorConfigFromContext } from "./config.ts";
import { MemberRoleStack } from "./member-role-stack.ts";
import { MonitorStack } from "./monitor-stack.ts";

export const MONITOR_STACK_NAME = "ExposureMonitor";
export const MEMBER_ROLE_STACK_NAME = "ExposureMonitorMemberRole";

export interface MonitorApp {
  monitor: MonitorStack;
  memberRole: MemberRoleStack;
}

export function buildMonitorApp(app: App): MonitorApp {
  const config = monitorConfigFromContext(app.node);
  const monitor = new MonitorStack(app, MONITOR_STACK_NAME, {
    description: "Exposure Monitor: continuous external Redis exposure scanning of an AWS organization",
    config,
  });
  const memberRole = new MemberRoleStack(app, MEMBER_ROLE_STACK_NAME, {
    description: "Exposure Monitor read-only role for member accounts (deploy with a StackSet)",
    roleName: config.memberRoleName,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { monitor, memberRole };
}
