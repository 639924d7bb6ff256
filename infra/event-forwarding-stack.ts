// The member-account half of the fast path (docs/fastpath.md): rules on the default event bus that forward
// the catalog's CloudTrail management events (successful calls only) and the instance and task starts to
// the monitor's central bus. EventBridge has no organization-wide rule, so this template is deployed in
// every account and region by a service-managed StackSet (infra/monitor-app.ts), and as a plain stack in
// the management account, which StackSets skip. Like the member role it takes its input as a parameter
// and needs no CDK bootstrap.
import { CfnParameter, DefaultStackSynthesizer, Stack, type StackProps } from "aws-cdk-lib";
import { CfnRule } from "aws-cdk-lib/aws-events";
import { Policy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { catalogEventNames, NATIVE_DETAIL_TYPES } from "../shared/fastpath/catalog.ts";

/** The event patterns forwarded, one rule each (the CloudTrail ones split per source to stay small). */
export function forwardedPatterns(): Record<string, Record<string, unknown>> {
  const patterns: Record<string, Record<string, unknown>> = {};
  for (const [source, names] of Object.entries(catalogEventNames())) {
    const id = source.replace(/^aws\./, "").replace(/(^|\W)(\w)/g, (_m, _s, c: string) => c.toUpperCase());
    patterns[`CloudTrail${id}`] = {
      source: [source],
      "detail-type": ["AWS API Call via CloudTrail"],
      // A failed call changed nothing.
      detail: { eventName: [...names].sort(), errorCode: [{ exists: false }] },
    };
  }
  patterns.InstanceRunning = {
    source: ["aws.ec2"],
    "detail-type": [NATIVE_DETAIL_TYPES.instance],
    detail: { state: ["running"] },
  };
  patterns.TaskRunning = {
    source: ["aws.ecs"],
    "detail-type": [NATIVE_DETAIL_TYPES.task],
    detail: { lastStatus: ["RUNNING"] },
  };
  return patterns;
}

export class EventForwardingStack extends Stack {
  readonly rules: CfnRule[] = [];
  readonly role: Role;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      ...props,
      analyticsReporting: false,
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    });
    const centralBusArn = new CfnParameter(this, "CentralBusArn", {
      type: "String",
      description: "ARN of the monitor's central event bus (output FastPathBusArn of the ExposureMonitor stack)",
      allowedPattern: "^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/.+$",
    });
    // A role is required to put events on a bus in another region; used for every target alike.
    this.role = new Role(this, "ForwardRole", {
      assumedBy: new ServicePrincipal("events.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": this.account } },
      }),
      description: "Exposure Monitor: forward fast-path events to the monitor's central bus",
    });
    new Policy(this, "ForwardPolicy", {
      roles: [this.role],
      statements: [new PolicyStatement({ actions: ["events:PutEvents"], resources: [centralBusArn.valueAsString] })],
    });
    for (const [name, pattern] of Object.entries(forwardedPatterns())) {
      this.rules.push(
        new CfnRule(this, name, {
          description: `Exposure Monitor fast path: ${name} to the monitor's central bus`,
          eventBusName: "default",
          eventPattern: pattern,
          state: "ENABLED",
          targets: [{ id: "CentralBus", arn: centralBusArn.valueAsString, roleArn: this.role.roleArn }],
        }),
      );
    }
  }
}
