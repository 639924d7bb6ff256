// The monitor-account half of the fast path (docs/fastpath.md):
//   member accounts' rules -> central bus (PutEvents only from the organization) -> rule -> router queue
//   -> router function -> fast-probe queue (per-message delays: the re-probe schedule) -> fast-probe function
//   and a one-minute schedule -> armed function (endpoints whose path is known open).
// Every queue has a dead-letter queue, and the alarms cover them, unreadable accounts and the event-to-alert
// latency (p90 over 60 s).
import { createHash } from "node:crypto";
import { Arn, type CfnElement, Duration, Stack, Validations } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IAlarmAction, Metric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { CfnEventBusPolicy, EventBus, Rule } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { Policy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleTargetInput } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DEFAULT_MAX_ARMED } from "../../shared/fastpath/armed.ts";
import { armedEnvironment, probeEnvironment, routerEnvironment } from "../../shared/function-env.ts";
import { DIMENSION, FASTPATH_METRIC, METRICS_NAMESPACE, SERVICE_NAME } from "../../shared/metrics-names.ts";
import type { IpFamily } from "../../shared/net/ip.ts";
import type { MonitorConfig } from "../config.ts";
import { FASTPATH_READ_ACTIONS, INVENTORY_READ_ACTIONS } from "../member-role-actions.ts";
import { PROBE_MEMORY_MB, PROBE_SOCKET_CONCURRENCY, PROBE_TIMEOUT_SECONDS } from "../sizing.ts";
import { functionErrorsAlarm, messagesWaitingAlarm, notifyOnAlarmAndOk } from "./alarms.ts";
import { MonitorFunction, type MonitorFunctionProps } from "./monitor-function.ts";

/** The central bus's name, fixed so the member template's parameter can be written down before deploying. */
export const FAST_PATH_BUS_NAME = "exposure-monitor-fast-path";
/** Regions enabled by default in every account: where the forwarding StackSet deploys unless `regions` is set. */
export const DEFAULT_FORWARDING_REGIONS = [
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ca-central-1",
  "eu-central-1",
  "eu-north-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
] as const;
/** The router's role name: the member role trusts it by ARN (account + this name), so it is fixed. */
export const FAST_PATH_ROUTER_ROLE_NAME = "exposure-monitor-fast-path-router";
/** The latency objective: 90% of fast-path alerts within this long of the AWS change. */
export const EVENT_TO_ALERT_P90_MS = 60_000;
const ROUTER_TIMEOUT_SECONDS = 60;
const FAST_PROBE_TIMEOUT_SECONDS = PROBE_TIMEOUT_SECONDS;
const ARMED_TIMEOUT_SECONDS = 55;

export interface FastPathProps {
  config: MonitorConfig;
  table: Table;
  alarmAction: IAlarmAction;
  logRetention: RetentionDays;
  /**
   * The monitor's dual-stack scanner subnets (infra/constructs/ipv6-scanner.ts). A function outside a VPC
   * has no IPv6 egress, so with these the fast probe and the armed tier get twins there for IPv6 endpoints
   * (docs/fastpath.md, "IPv6 targets"); without, IPv6 endpoints end as probe errors (coverage gaps).
   */
  ipv6?: { network: NonNullable<MonitorFunctionProps["network"]>; selfTest: string };
}

export class FastPath extends Construct {
  readonly bus: EventBus;
  readonly routerQueue: Queue;
  readonly routerDeadLetterQueue: Queue;
  readonly fastProbeQueue: Queue;
  readonly fastProbeDeadLetterQueue: Queue;
  readonly router: MonitorFunction;
  readonly fastProbe: MonitorFunction;
  readonly armed: MonitorFunction;
  /** The IPv6 twins in the scanner VPC (with props.ipv6). */
  readonly ipv6: {
    fastProbeQueue: Queue;
    fastProbeDeadLetterQueue: Queue;
    fastProbe: MonitorFunction;
    armed: MonitorFunction;
  } | null;
  readonly alarms: Alarm[] = [];

  /** Every function of the fast path. */
  get functions(): MonitorFunction[] {
    return [this.router, this.fastProbe, this.armed, ...(this.ipv6 ? [this.ipv6.fastProbe, this.ipv6.armed] : [])];
  }

  constructor(scope: Construct, id: string, props: FastPathProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);

    // ---- The central bus: member accounts' rules put events here.
    this.bus = new EventBus(this, "Bus", { eventBusName: FAST_PATH_BUS_NAME });
    new CfnEventBusPolicy(this, "BusPolicy", {
      eventBusName: this.bus.eventBusName,
      statementId: "OrganizationPutEvents",
      statement: {
        Effect: "Allow",
        Action: "events:PutEvents",
        Resource: this.bus.eventBusArn,
        // The organization's accounts only; without an organization id, this account only.
        ...(config.organizationId !== undefined
          ? { Principal: "*", Condition: { StringEquals: { "aws:PrincipalOrgID": config.organizationId } } }
          : { Principal: { AWS: `arn:${stack.partition}:iam::${stack.account}:root` } }),
      },
    });

    // ---- Queues, each with a dead-letter queue.
    const queue = (name: string, visibility: Duration, deadLetterQueue?: Queue) =>
      new Queue(this, name, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        ...(deadLetterQueue === undefined
          ? { retentionPeriod: Duration.days(14) }
          : { visibilityTimeout: visibility, deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 3 } }),
      });
    this.routerDeadLetterQueue = queue("RouterDeadLetterQueue", Duration.seconds(0));
    this.routerQueue = queue("RouterQueue", Duration.seconds(6 * ROUTER_TIMEOUT_SECONDS), this.routerDeadLetterQueue);
    this.fastProbeDeadLetterQueue = queue("FastProbeDeadLetterQueue", Duration.seconds(0));
    this.fastProbeQueue = queue(
      "FastProbeQueue",
      Duration.seconds(6 * FAST_PROBE_TIMEOUT_SECONDS),
      this.fastProbeDeadLetterQueue,
    );
    const ipv6Queues =
      props.ipv6 === undefined
        ? null
        : (() => {
            const deadLetterQueue = queue("FastProbeIpv6DeadLetterQueue", Duration.seconds(0));
            return {
              scanner: props.ipv6,
              deadLetterQueue,
              queue: queue("FastProbeIpv6Queue", Duration.seconds(6 * FAST_PROBE_TIMEOUT_SECONDS), deadLetterQueue),
            };
          })();
    const deadLetterQueues = [
      this.routerDeadLetterQueue,
      this.fastProbeDeadLetterQueue,
      ...(ipv6Queues ? [ipv6Queues.deadLetterQueue] : []),
    ];
    for (const dlq of deadLetterQueues) {
      Validations.of(dlq).acknowledge({
        id: "AwsSolutions::AwsSolutions-SQS3",
        reason:
          "This queue is itself a dead-letter queue (of the fast path's router or probe queue); it is alarmed when not empty.",
      });
    }

    // ---- Central bus -> router queue: everything the member rules forward.
    new Rule(this, "ForwardedEvents", {
      description: "Exposure Monitor fast path: forwarded member-account events to the router",
      eventBus: this.bus,
      eventPattern: {
        source: ["aws.ec2", "aws.ecs", "aws.lightsail", "aws.globalaccelerator", "aws.elasticloadbalancing"],
      },
      targets: [
        new SqsQueue(this.routerQueue, {
          deadLetterQueue: this.routerDeadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    // ---- Router.
    this.router = new MonitorFunction(this, "Router", {
      handler: "router",
      roleName: FAST_PATH_ROUTER_ROLE_NAME,
      description: "Fast path: resolves a forwarded AWS change to public targets and schedules their probes",
      memoryMb: 512,
      timeout: Duration.seconds(ROUTER_TIMEOUT_SECONDS),
      logRetention: props.logRetention,
      environment: routerEnvironment({
        fastProbeQueueUrl: this.fastProbeQueue.queueUrl,
        ...(ipv6Queues ? { fastProbeIpv6QueueUrl: ipv6Queues.queue.queueUrl } : {}),
        probePorts: config.probePorts,
        memberRoleName: config.memberRoleName,
        externalId: config.externalId,
        accounts: config.accounts,
        regions: config.regions,
      }),
    });
    this.router.bindTable(props.table, "readWrite");
    this.fastProbeQueue.grantSendMessages(this.router.role);
    ipv6Queues?.queue.grantSendMessages(this.router.role);
    this.router.fn.addEventSource(
      new SqsEventSource(this.routerQueue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 20 }),
    );
    this.router.role.addToPolicy(
      new PolicyStatement({
        actions: ["sts:AssumeRole"],
        resources: [
          Arn.format(
            { service: "iam", region: "", account: "*", resource: "role", resourceName: config.memberRoleName },
            stack,
          ),
        ],
        conditions:
          config.organizationId === undefined
            ? undefined
            : { StringEquals: { "aws:ResourceOrgID": config.organizationId } },
      }),
    );
    const ownRead = new Policy(this.router, "ResolveReadPolicy", {
      roles: [this.router.role],
      statements: [
        new PolicyStatement({ actions: [...INVENTORY_READ_ACTIONS, ...FASTPATH_READ_ACTIONS], resources: ["*"] }),
      ],
    });
    Validations.of(ownRead).acknowledge({
      id: "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
      reason:
        "The monitor's own account is resolved with the router's credentials; these Describe/Get actions support no resource-level permissions and are listed one by one.",
    });
    Validations.of(this.router.role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${config.memberRoleName}]`,
      reason:
        "The read-only role has the same name in every member account, and the account is only known from the event; the role trusts only the monitor's functions and requires the external id.",
    });

    // ---- Fast probe and armed tier: the probe function's code path, outside any VPC; with props.ipv6, twins
    // in the scanner VPC for IPv6 endpoints (no X-Ray there: no IPv4 way out, as for the IPv6 probe function).
    const probeEnv = { socketConcurrency: PROBE_SOCKET_CONCURRENCY, allowedMasters: config.allowedMasters };
    // What a twin in the scanner subnets differs in: its self-test, its network, no tracing.
    const placement = (scanner?: FastPathProps["ipv6"]) =>
      scanner === undefined
        ? { probeEnv, inVpc: {} }
        : {
            probeEnv: { ...probeEnv, ipv6SelfTest: scanner.selfTest },
            inVpc: { network: scanner.network, tracing: false },
          };
    const fastProbe = (id: string, queue: Queue, scanner?: FastPathProps["ipv6"]) => {
      const where = placement(scanner);
      const fn = new MonitorFunction(this, id, {
        handler: "fast-probe",
        description: `Fast path: probes an event's ${scanner ? "IPv6 " : ""}targets at one step of the re-probe schedule and records them`,
        memoryMb: PROBE_MEMORY_MB,
        timeout: Duration.seconds(FAST_PROBE_TIMEOUT_SECONDS),
        logRetention: props.logRetention,
        environment: probeEnvironment(where.probeEnv),
        ...where.inVpc,
      });
      fn.bindTable(props.table, "readWrite");
      fn.fn.addEventSource(
        new SqsEventSource(queue, {
          batchSize: 1,
          reportBatchItemFailures: true,
          maxConcurrency: config.probeMaxConcurrency,
        }),
      );
      return fn;
    };
    const armed = (id: string, family: IpFamily, scanner?: FastPathProps["ipv6"]) => {
      const where = placement(scanner);
      const fn = new MonitorFunction(this, id, {
        handler: "armed",
        description: `Fast path: probes every ${family === "ipv6" ? "IPv6" : "IPv4"} endpoint whose path from the internet is known open, every minute`,
        memoryMb: PROBE_MEMORY_MB,
        timeout: Duration.seconds(ARMED_TIMEOUT_SECONDS),
        logRetention: props.logRetention,
        environment: armedEnvironment({
          ...where.probeEnv,
          maxTargets: DEFAULT_MAX_ARMED,
          // Without IPv6 twins the one armed function takes both families (IPv6 ones end as probe errors).
          ...(props.ipv6 ? { family } : {}),
        }),
        ...where.inVpc,
      });
      fn.bindTable(props.table, "readWrite");
      return fn;
    };
    this.fastProbe = fastProbe("FastProbe", this.fastProbeQueue);
    this.armed = armed("Armed", "ipv4");
    this.ipv6 =
      ipv6Queues === null
        ? null
        : {
            fastProbeQueue: ipv6Queues.queue,
            fastProbeDeadLetterQueue: ipv6Queues.deadLetterQueue,
            fastProbe: fastProbe("FastProbeIpv6", ipv6Queues.queue, ipv6Queues.scanner),
            armed: armed("ArmedIpv6", "ipv6", ipv6Queues.scanner),
          };
    const armedFunctions = [this.armed, ...(this.ipv6 ? [this.ipv6.armed] : [])];
    const schedulerRole = new Role(this, "ArmedSchedulerRole", {
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
      description: "EventBridge Scheduler: invoke the Exposure Monitor armed function",
    });
    for (const monitorFn of armedFunctions) {
      Validations.of(schedulerRole).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${stack.getLogicalId(monitorFn.fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason:
          "CDK's scheduler target grants lambda:InvokeFunction on the armed function and its versions/aliases only.",
      });
      new Schedule(this, `${monitorFn.node.id}Schedule`, {
        description: `Probes the armed endpoints (path known open) every minute${monitorFn === this.armed ? "" : ", IPv6"}`,
        schedule: ScheduleExpression.rate(Duration.minutes(1)),
        target: new LambdaInvoke(monitorFn.fn, {
          role: schedulerRole,
          input: ScheduleTargetInput.fromObject({ scheduledTime: ContextAttribute.scheduledTime }),
          retryAttempts: 0,
          // A run that could not start within its minute is superseded by the next one.
          maxEventAge: Duration.seconds(60),
        }),
      });
    }

    // The table lives in the monitor stack: its ARN is an import here, so bindTable's acknowledgement of the
    // index ARNs (written for a table in the same stack) does not name it; the same grant, acknowledged by
    // the import's name (importedArnName).
    const tableStack = Stack.of(props.table);
    if (tableStack !== stack) {
      const imported = importedArnName(tableStack, tableStack.resolve(props.table.tableArn));
      for (const monitorFn of this.functions) {
        Validations.of(monitorFn.role).acknowledge({
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::${imported}/index/*]`,
          reason:
            "Queries use the monitor table's global secondary indexes, whose ARNs are the table ARN plus /index/<name>.",
        });
      }
    }

    // ---- Alarms.
    const metric = (name: string, statistic: string, period: Duration) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { [DIMENSION.service]: SERVICE_NAME },
        statistic,
        period,
      });
    this.alarms.push(
      new Alarm(this, "EventToAlertLatencyAlarm", {
        alarmDescription: `Fast path: p90 from the AWS change to the alert over ${EVENT_TO_ALERT_P90_MS / 1000} s (docs/fastpath.md, canary).`,
        metric: metric(FASTPATH_METRIC.fastPathEventToAlert, "p90", Duration.minutes(15)),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        threshold: EVENT_TO_ALERT_P90_MS,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, "UnreadableAccountAlarm", {
        alarmDescription:
          "Fast path: an event's account or region could not be read (member role missing or denied); its changes wait for the sweep.",
        metric: metric(FASTPATH_METRIC.fastPathUnreadable, "Sum", Duration.minutes(5)),
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    for (const dlq of deadLetterQueues) {
      this.alarms.push(
        messagesWaitingAlarm(
          this,
          `${dlq.node.id}Alarm`,
          dlq,
          `Messages are waiting in ${dlq.node.id}: fast-path work that failed every retry.`,
        ),
      );
    }
    for (const monitorFn of this.functions) {
      this.alarms.push(
        functionErrorsAlarm(
          this,
          `${monitorFn.node.id}ErrorsAlarm`,
          monitorFn,
          `The fast path's ${monitorFn.node.id} function failed.`,
        ),
      );
    }
    notifyOnAlarmAndOk(this.alarms, props.alarmAction);
  }
}

/**
 * The export name CDK gives a cross-stack reference ("<stack>:ExportsOutputFnGetAtt<id>Arn<hash>"), as
 * cdk-nag prints it: the readable part of the resolved reference and an MD5 of its path, the way CDK's
 * unique ids are made. cdk-nag's test fails with the expected name if CDK ever changes this.
 */
function importedArnName(exporting: Stack, resolved: unknown): string {
  const id = `Output${JSON.stringify(resolved)}`;
  const human = `Exports${id.replace(/[^A-Za-z0-9]/g, "")}`;
  const hash = createHash("md5").update(`Exports/${id}`).digest("hex").slice(0, 8).toUpperCase();
  return `${exporting.stackName}:${human}${hash}`;
}
