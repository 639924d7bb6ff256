// One construct holding every Lambda default of the monitor, so the three functions differ only in
// what they do: entry, size, environment and grants (modelled on Powertools' examples/app
// FunctionWithLogGroup and its bindTable helper).
import { fileURLToPath } from "node:url";
import { type CfnElement, type Duration, Stack, Validations } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import type { ISecurityGroup, IVpc, SubnetSelection } from "aws-cdk-lib/aws-ec2";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import {
  Architecture,
  type ParamsAndSecretsLayerVersion,
  Runtime,
  RuntimeManagementMode,
  Tracing,
} from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { ENV } from "../../shared/function-env.ts";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../shared/metrics-names.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The handlers the monitor deploys, one file each under functions/. */
export type MonitorHandler = "enumerate" | "probe" | "notify" | "notify-retry" | "router" | "fast-probe" | "armed";

export interface MonitorFunctionProps {
  handler: MonitorHandler;
  description: string;
  memoryMb: number;
  timeout: Duration;
  environment?: Record<string, string>;
  /** Days to keep the function's logs. */
  logRetention?: RetentionDays;
  /** Powertools log level (LOG_LEVEL). */
  logLevel?: "DEBUG" | "INFO" | "WARN" | "ERROR";
  /** A fixed role name, for a role other accounts' trust policies name before it exists (optional). */
  roleName?: string;
  /** X-Ray active tracing (default on); off for a function whose traces are not worth their price. */
  tracing?: boolean;
  /** The AWS Parameters and Secrets extension, for functions that read a secret at run time. */
  paramsAndSecrets?: ParamsAndSecretsLayerVersion;
  /** Attach to these subnets (the IPv6 probe function's dual-stack scanner VPC); none: no VPC. */
  network?: { vpc: IVpc; subnets: SubnetSelection; securityGroups: ISecurityGroup[]; ipv6AllowedForDualStack: boolean };
}

export type TableAccess = "read" | "readWrite";

/** A DynamoDB action on the whole table, or actions on items whose partition key has one of these prefixes. */
export type TableGrant =
  | `dynamodb:${string}`
  | { actions: readonly `dynamodb:${string}`[]; leadingKeys: readonly string[] };

export class MonitorFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: MonitorFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, "Logs", { retention: props.logRetention ?? RetentionDays.ONE_MONTH });

    // An own role instead of the AWSLambdaBasicExecutionRole managed policy: it may write only to this
    // function's log group, and every other permission is granted explicitly below or by the stack.
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Exposure Monitor ${props.handler} function`,
      ...(props.roleName !== undefined ? { roleName: props.roleName } : {}),
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new NodejsFunction(this, "Function", {
      entry: `${REPO_ROOT}functions/${props.handler}.ts`,
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      runtimeManagementMode: RuntimeManagementMode.AUTO,
      architecture: Architecture.ARM_64,
      memorySize: props.memoryMb,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: props.tracing === false ? Tracing.DISABLED : Tracing.ACTIVE,
      paramsAndSecrets: props.paramsAndSecrets,
      ...(props.network !== undefined
        ? {
            vpc: props.network.vpc,
            vpcSubnets: props.network.subnets,
            securityGroups: props.network.securityGroups,
            ipv6AllowedForDualStack: props.network.ipv6AllowedForDualStack,
          }
        : {}),
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        LOG_LEVEL: props.logLevel ?? "INFO",
        ...props.environment,
      },
      bundling: {
        // esbuild is a devDependency: bundle with it locally, never in Docker, so synth works offline.
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: "node22",
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        keepNames: true,
        mainFields: ["module", "main"],
        // Everything is bundled, including the AWS SDK, so the deployed code is the tested code.
        externalModules: [],
        // The X-Ray SDK under Powertools Tracer still calls require(); give the ESM bundle one.
        banner: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);',
      },
    });

    if (props.network !== undefined) {
      // Given a VPC, Lambda attaches AWS's managed VPC-access policy to the role.
      Validations.of(this.role).acknowledge({
        id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
        reason:
          "Lambda needs ec2:CreateNetworkInterface/DescribeNetworkInterfaces/DeleteNetworkInterface to attach the function to its subnets; AWS's managed policy is exactly that.",
      });
    }
    Validations.of(this.fn).acknowledge({
      id: "AwsSolutions::AwsSolutions-L1",
      reason:
        "Node.js 22 is the runtime the project is built and tested on (package.json engines, CI); moving to 24 is a deliberate upgrade, not a default.",
    });
    // Tracing put the X-Ray statement into the role's default policy while the function was built.
    const defaultPolicy = this.role.node.tryFindChild("DefaultPolicy");
    if (defaultPolicy !== undefined)
      Validations.of(defaultPolicy).acknowledge({
        id: "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        reason:
          "Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions.",
      });
  }

  /**
   * Sets the table's name in the environment and grants exactly the access the function needs, together:
   * "read", "readWrite", or the list of DynamoDB actions it calls (with the table key's use to match).
   */
  bindTable(table: Table, access: TableAccess | readonly TableGrant[], envVar: string = ENV.tableName): void {
    this.fn.addEnvironment(envVar, table.tableName);
    if (access === "readWrite") table.grantReadWriteData(this.role);
    else if (access === "read") table.grantReadData(this.role);
    else {
      for (const grant of access) {
        if (typeof grant === "string") table.grant(this.role, grant);
        else {
          // Only items whose partition key starts with one of these prefixes (dynamodb:LeadingKeys).
          this.role.addToPrincipalPolicy(
            new PolicyStatement({
              actions: [...grant.actions],
              resources: [table.tableArn],
              conditions: {
                "ForAllValues:StringLike": { "dynamodb:LeadingKeys": grant.leadingKeys.map((k) => `${k}*`) },
              },
            }),
          );
        }
      }
      table.encryptionKey?.grantEncryptDecrypt(this.role);
    }
    const tableArn = `<${Stack.of(table).getLogicalId(table.node.defaultChild as CfnElement)}.Arn>`;
    const acknowledgements = [
      {
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${tableArn}/index/*]`,
        reason: "Queries use the table's global secondary indexes, whose ARNs are the table ARN plus /index/<name>.",
      },
    ];
    if (table.encryptionKey !== undefined) {
      const reason =
        "CDK's grants on named customer-managed keys (the table key, and the topic key where the function publishes): envelope encryption needs GenerateDataKey*/ReEncrypt*, limited to those key ARNs.";
      acknowledgements.push({ id: "AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", reason });
      if (access !== "read")
        acknowledgements.push({ id: "AwsSolutions::AwsSolutions-IAM5[Action::kms:ReEncrypt*]", reason });
    }
    Validations.of(this.role).acknowledge(...acknowledgements);
  }

  addEnvironment(key: string, value: string): void {
    this.fn.addEnvironment(key, value);
  }
}
