// The member-account stack deployed to the organization by a service-managed CloudFormation StackSet
// from the monitor stack (docs/readme-deploy.md, "npm run deploy"). The StackSet is generic over the
// member template: whatever MemberRoleStack synthesizes is its template body, and every template
// parameter is filled from `parameters`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, CfnStackSet, type Stack } from "aws-cdk-lib";
import { Construct } from "constructs";

/** CloudFormation's limit on an inline template body. */
export const MAX_TEMPLATE_BODY_BYTES = 51_200;

export type StackSetCallAs = "SELF" | "DELEGATED_ADMIN";

/**
 * Synthesizes a stack in an app of its own (a temporary output directory) and returns its template as
 * JSON, for use as a StackSet's template body: the same template `cdk synth` writes for that stack.
 */
export function templateBodyOf(build: (app: App) => Stack): string {
  const outdir = mkdtempSync(join(tmpdir(), "exposure-member-template-"));
  try {
    const app = new App({ outdir, analyticsReporting: false });
    const stack = build(app);
    const body = JSON.stringify(app.synth().getStackArtifact(stack.artifactId).template);
    if (Buffer.byteLength(body) > MAX_TEMPLATE_BODY_BYTES) {
      throw new Error(`the member template is ${Buffer.byteLength(body)} bytes, over CloudFormation's inline limit`);
    }
    return body;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export interface MemberStackSetProps {
  stackSetName: string;
  description: string;
  /** The member template (templateBodyOf). */
  templateBody: string;
  /** A value for every parameter of the template. */
  parameters: Record<string, string>;
  /** Organization root (r-...) or organizational unit ids (ou-...) whose accounts get the stack. */
  organizationalUnitIds: string[];
  /** SELF from the management account, DELEGATED_ADMIN from a StackSets delegated administrator. */
  callAs: StackSetCallAs;
  /** Regions to deploy the stack instances to (the role is global: the monitor's region is enough). */
  regions: string[];
}

export class MemberStackSet extends Construct {
  readonly stackSet: CfnStackSet;

  constructor(scope: Construct, id: string, props: MemberStackSetProps) {
    super(scope, id);
    const declared = Object.keys(
      (JSON.parse(props.templateBody) as { Parameters?: Record<string, unknown> }).Parameters ?? {},
    );
    const missing = declared.filter((name) => !Object.hasOwn(props.parameters, name));
    const unknown = Object.keys(props.parameters).filter((name) => !declared.includes(name));
    if (missing.length > 0 || unknown.length > 0) {
      throw new Error(
        `member StackSet parameters do not match the template (missing: ${missing.join(", ") || "none"}; unknown: ${unknown.join(", ") || "none"})`,
      );
    }
    this.stackSet = new CfnStackSet(this, "StackSet", {
      stackSetName: props.stackSetName,
      description: props.description,
      permissionModel: "SERVICE_MANAGED",
      // New accounts in the targeted OUs get the stack; a departing account's stack is removed.
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: props.callAs,
      capabilities: ["CAPABILITY_NAMED_IAM"],
      managedExecution: { Active: true },
      operationPreferences: {
        failureTolerancePercentage: 10,
        maxConcurrentPercentage: 50,
        regionConcurrencyType: "PARALLEL",
      },
      templateBody: props.templateBody,
      parameters: Object.entries(props.parameters).map(([parameterKey, parameterValue]) => ({
        parameterKey,
        parameterValue,
      })),
      stackInstancesGroup: [
        {
          deploymentTargets: { organizationalUnitIds: props.organizationalUnitIds },
          regions: props.regions,
        },
      ],
    });
  }
}
