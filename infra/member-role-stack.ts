// The read-only role the enumerate function assumes in every account of the organization. The template
// is deployed to all accounts with a service-managed CloudFormation StackSet (docs/readme-deploy.md), so it
// takes its inputs as parameters and needs no CDK bootstrap in the member accounts. It has no Organizations
// permission: the account list is read by the monitor account itself (shared/inventory).
import {
  Aws,
  CfnCondition,
  CfnParameter,
  DefaultStackSynthesizer,
  Fn,
  Stack,
  type StackProps,
  Validations,
} from "aws-cdk-lib";
import { ArnPrincipal, type CfnRole, Policy, PolicyStatement, Role } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { FASTPATH_READ_ACTIONS, INVENTORY_READ_ACTIONS } from "./member-role-actions.ts";

export interface MemberRoleStackProps extends StackProps {
  /** The role name, the same in every account so the monitor can build its ARN from an account id. */
  roleName: string;
}

export class MemberRoleStack extends Stack {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: MemberRoleStackProps) {
    // No bootstrap-version rule: StackSet instances land in accounts that were never CDK-bootstrapped.
    // No CDK metadata resource either: the template holds exactly the role and its policy.
    super(scope, id, {
      ...props,
      analyticsReporting: false,
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    });

    const monitorRoleArn = new CfnParameter(this, "MonitorRoleArn", {
      type: "String",
      description:
        "ARN of the monitor's enumerate function role (output EnumerateRoleArn of the ExposureMonitor stack)",
      allowedPattern: "^arn:aws[a-z-]*:iam::\\d{12}:role/.+$",
    });
    const externalId = new CfnParameter(this, "ExternalId", {
      type: "String",
      description: "External id the monitor presents (context externalId of the ExposureMonitor stack)",
      minLength: 2,
      maxLength: 1224,
      allowedPattern: "^[\\w+=,.@:/-]+$",
    });
    // The fast path's router (docs/fastpath.md) reads the account of each event with this role too.
    const fastPathRoleArn = new CfnParameter(this, "FastPathRoleArn", {
      type: "String",
      default: "",
      description:
        "ARN of the monitor's fast-path router role (output FastPathRouterRoleArn of the ExposureMonitor stack); empty: none",
      allowedPattern: "^$|^arn:aws[a-z-]*:iam::\\d{12}:role/.+$",
    });
    const hasFastPath = new CfnCondition(this, "HasFastPathRole", {
      expression: Fn.conditionNot(Fn.conditionEquals(fastPathRoleArn.valueAsString, "")),
    });
    // Trusts the monitor's enumerate role (and the router's, when given), and only with the external id.
    this.role = new Role(this, "ReadOnlyRole", {
      roleName: props.roleName,
      description:
        "Exposure Monitor: read public IPs and their owners (ENIs, Elastic IPs, Lightsail, Global Accelerator)",
      assumedBy: new ArnPrincipal(monitorRoleArn.valueAsString).withConditions({
        StringEquals: { "sts:ExternalId": externalId.valueAsString },
      }),
    });
    (this.role.node.defaultChild as CfnRole).addPropertyOverride("AssumeRolePolicyDocument.Statement.0.Principal.AWS", [
      monitorRoleArn.valueAsString,
      Fn.conditionIf(hasFastPath.logicalId, fastPathRoleArn.valueAsString, Aws.NO_VALUE),
    ]);
    const inventoryRead = new Policy(this, "InventoryReadPolicy", {
      roles: [this.role],
      statements: [
        new PolicyStatement({
          // The fast path reads some of the inventory's actions too: each is granted once.
          actions: [...new Set([...INVENTORY_READ_ACTIONS, ...FASTPATH_READ_ACTIONS])],
          resources: ["*"],
        }),
      ],
    });
    Validations.of(inventoryRead).acknowledge({
      id: "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
      reason:
        "These Describe/List/Get actions support no resource-level permissions; they are read-only and listed one by one.",
    });
  }
}
