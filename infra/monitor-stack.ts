// The monitor: schedule -> enumerate -> shard queue -> probe -> table -> stream -> notify -> alert topic,
// with the alarms and dashboard that tell operators whether scans still complete (docs/architecture.md, docs/readme-deploy.md).
import {
  Arn,
  type CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from "aws-cdk-lib";
import { SlackChannelConfiguration, LoggingLevel as SlackLoggingLevel } from "aws-cdk-lib/aws-chatbot";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from "aws-cdk-lib/aws-dynamodb";
import { EventBus } from "aws-cdk-lib/aws-events";
import { Effect, Policy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import {
  FilterCriteria,
  FilterRule,
  ParamsAndSecretsLayerVersion,
  ParamsAndSecretsVersions,
  StartingPosition,
} from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq, SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleTargetInput } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { SubscriptionFilter, Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { severitiesAtLeast } from "../shared/alerts/route.ts";
import { ENV, enumerateEnvironment, notifyEnvironment, probeEnvironment } from "../shared/function-env.ts";
import { DIMENSION, METRIC, METRICS_NAMESPACE, SERVICE_NAME } from "../shared/metrics-names.ts";
import { ACK_PK } from "../shared/store/dynamo-acks.ts";
import { TABLE_SCHEMA } from "../shared/store/schema.ts";
import type { MonitorConfig } from "./config.ts";
import { allowAlarmPublishing } from "./constructs/alarm-publishing.ts";
import { functionErrorsAlarm, messagesWaitingAlarm, notifyOnAlarmAndOk, shardQueues } from "./constructs/alarms.ts";
import { AlertRetry, DELIVERY_ITEMS } from "./constructs/alert-retry.ts";
import { Ipv6Scanner } from "./constructs/ipv6-scanner.ts";
import { MonitorFunction, type TableGrant } from "./constructs/monitor-function.ts";
import { INVENTORY_READ_ACTIONS, ORGANIZATION_READ_ACTIONS } from "./member-role-actions.ts";
import {
  ENUMERATE_MEMORY_MB,
  ENUMERATE_TIMEOUT_SECONDS,
  NOTIFY_BATCH_SIZE,
  NOTIFY_MEMORY_MB,
  NOTIFY_RETRY_ATTEMPTS,
  NOTIFY_TIMEOUT_SECONDS,
  PROBE_BATCH_SIZE,
  PROBE_BATCHING_WINDOW_SECONDS,
  PROBE_MEMORY_MB,
  PROBE_SOCKET_CONCURRENCY,
  PROBE_TIMEOUT_SECONDS,
  SHARD_SIZE,
} from "./sizing.ts";

export interface MonitorStackProps extends StackProps {
  config: MonitorConfig;
}

export class MonitorStack extends Stack {
  readonly table: Table;
  readonly tableKey: Key;
  readonly topicKey: Key;
  readonly shardQueue: Queue;
  readonly shardDeadLetterQueue: Queue;
  readonly streamFailureQueue: Queue;
  readonly alertTopic: Topic;
  readonly opsTopic: Topic;
  readonly enumerate: MonitorFunction;
  readonly probe: MonitorFunction;
  readonly ipv6Scanner: Ipv6Scanner;
  readonly notify: MonitorFunction;
  readonly alertRetry: AlertRetry;

  constructor(scope: Construct, id: string, props: MonitorStackProps) {
    super(scope, id, props);
    const { config } = props;
    const schedulePeriod = Duration.minutes(config.scheduleMinutes);
    const logRetention = retentionDays(config.logRetentionDays);

    // ---- Data: one table, encrypted with a key the organization controls.
    // One customer-managed key for the table, its stream and both topics ($1 a month per key).
    this.tableKey = new Key(this, "TableKey", {
      description: "Exposure Monitor table, stream and SNS topics encryption",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table = new Table(this, "Table", {
      // Keys, indexes, TTL and stream view come from the store's schema (shared/store/schema.ts), the same
      // definition the local store creates its table from.
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.tableKey,
      timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
      stream: StreamViewType[TABLE_SCHEMA.streamViewType],
      // The history is audit evidence: keep it when the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of Object.values(TABLE_SCHEMA.indexes)) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }

    // ---- Queues: shards to probe, and what could not be processed.
    ({ queue: this.shardQueue, deadLetterQueue: this.shardDeadLetterQueue } = shardQueues(this));
    this.streamFailureQueue = new Queue(this, "StreamFailureQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.streamFailureQueue).acknowledge({
      id: "AwsSolutions::AwsSolutions-SQS3",
      reason:
        "This queue is itself the on-failure destination of the notify function's stream mapping (a dead-letter queue); it is alarmed when not empty.",
    });

    // ---- Notification topics: alerts for security teams, alarms for operators.
    this.topicKey = this.tableKey;
    // CloudWatch alarms publish to the encrypted operations topic, so the service needs the key.
    this.topicKey.addToResourcePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": this.account } },
      }),
    );
    this.alertTopic = new Topic(this, "AlertTopic", {
      displayName: "Exposure Monitor alerts",
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    this.opsTopic = new Topic(this, "OpsTopic", {
      displayName: "Exposure Monitor operations",
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // The topic policy replaces SNS's default one: CloudWatch alarms need an allow of their own.
    allowAlarmPublishing(this.opsTopic);
    // Email takes only alerts at or above its floor (critical by default): a filter policy on `severity`.
    const emailFilter = {
      severity: SubscriptionFilter.stringFilter({ allowlist: severitiesAtLeast(config.emailMinSeverity) }),
    };
    for (const address of config.alertEmails) {
      this.alertTopic.addSubscription(new EmailSubscription(address, { filterPolicy: emailFilter }));
    }
    for (const address of config.opsEmails) this.opsTopic.addSubscription(new EmailSubscription(address));
    if (config.slack !== undefined) {
      new SlackChannelConfiguration(this, "SlackChannel", {
        slackChannelConfigurationName: `${this.stackName}-alerts`.slice(0, 128),
        slackWorkspaceId: config.slack.workspaceId,
        slackChannelId: config.slack.channelId,
        notificationTopics: [this.alertTopic, this.opsTopic],
        loggingLevel: SlackLoggingLevel.ERROR,
      });
    }

    // ---- Functions.
    this.enumerate = new MonitorFunction(this, "Enumerate", {
      handler: "enumerate",
      description: "Lists the organization's public IPs, records a scan and queues its shards",
      memoryMb: ENUMERATE_MEMORY_MB,
      timeout: Duration.seconds(ENUMERATE_TIMEOUT_SECONDS),
      logRetention,
      environment: enumerateEnvironment({
        shardQueueUrl: this.shardQueue.queueUrl,
        shardSize: SHARD_SIZE,
        probePorts: config.probePorts,
        memberRoleName: config.memberRoleName,
        externalId: config.externalId,
        accounts: config.accounts,
        regions: config.regions,
        scanRetentionDays: config.scanRetentionDays,
        ...(config.eventRetentionDays !== undefined ? { eventRetentionDays: config.eventRetentionDays } : {}),
      }),
    });
    // Only what each function calls (docs/readme-store.md, access patterns): no Scan, DeleteItem or
    // BatchWriteItem anywhere, and only the probe may write endpoint records (enumerate adds one kind of
    // event, below); no role may update an endpoint item. Enumerate writes a scan's two
    // items and reads them back; for an expired acknowledgement it reads the endpoint's record (and its
    // seen bucket), writes the expiry's event item (a new item only, by condition) and marks the
    // acknowledgement (docs/readme-acknowledgements.md).
    this.enumerate.bindTable(this.table, [
      { actions: ["dynamodb:PutItem"], leadingKeys: ["SCAN#", "ENDPOINT#"] },
      { actions: ["dynamodb:GetItem"], leadingKeys: ["ENDPOINT#"] },
      { actions: ["dynamodb:BatchGetItem"], leadingKeys: ["SEEN#"] },
      { actions: ["dynamodb:UpdateItem"], leadingKeys: [ACK_PK] },
      "dynamodb:Query",
    ]);
    this.shardQueue.grantSendMessages(this.enumerate.role);
    // Every other account is read through its read-only role; the name is the same everywhere.
    this.enumerate.role.addToPolicy(
      new PolicyStatement({
        actions: ["sts:AssumeRole"],
        resources: [
          Arn.format(
            { service: "iam", region: "", account: "*", resource: "role", resourceName: config.memberRoleName },
            this,
          ),
        ],
        conditions:
          config.organizationId === undefined
            ? undefined
            : { StringEquals: { "aws:ResourceOrgID": config.organizationId } },
      }),
    );
    // The monitor's own account is read with the function's own credentials (shared/inventory), and the
    // account list comes from Organizations when the monitor runs in the management or a delegated admin account.
    const inventoryRead = new Policy(this.enumerate, "InventoryReadPolicy", {
      roles: [this.enumerate.role],
      statements: [
        new PolicyStatement({ actions: [...INVENTORY_READ_ACTIONS, ...ORGANIZATION_READ_ACTIONS], resources: ["*"] }),
      ],
    });
    Validations.of(inventoryRead).acknowledge({
      id: "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
      reason:
        "These Describe/List/Get actions support no resource-level permissions; they are read-only and listed one by one.",
    });
    Validations.of(this.enumerate.role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${config.memberRoleName}]`,
      reason:
        "The read-only role has the same name in every member account, and member accounts are only known at run time (organizations:ListAccounts); the role trusts only this function's role and requires the external id.",
    });

    this.probe = new MonitorFunction(this, "Probe", {
      handler: "probe",
      // Tracing a probe invocation shows only its DynamoDB calls; traces of ~25 invocations a sweep are not worth their price.
      tracing: false,
      description: "Probes a batch of shards of public endpoints from outside (no VPC) and records what changed",
      memoryMb: PROBE_MEMORY_MB,
      timeout: Duration.seconds(PROBE_TIMEOUT_SECONDS),
      logRetention,
      environment: probeEnvironment({
        socketConcurrency: PROBE_SOCKET_CONCURRENCY,
        allowedMasters: config.allowedMasters,
        ...(config.eventRetentionDays !== undefined ? { eventRetentionDays: config.eventRetentionDays } : {}),
      }),
    });
    // Probe: digests and records (BatchGetItem), conditional puts of records, events and digests, the scan's
    // progress (UpdateItem, GetItem) and record (Query).
    const probeTableAccess: TableGrant[] = [
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      { actions: ["dynamodb:UpdateItem"], leadingKeys: ["SCAN#"] },
    ];
    this.probe.bindTable(this.table, probeTableAccess);
    this.probe.fn.addEventSource(
      new SqsEventSource(this.shardQueue, {
        batchSize: PROBE_BATCH_SIZE,
        maxBatchingWindow: Duration.seconds(PROBE_BATCHING_WINDOW_SECONDS),
        maxConcurrency: config.probeMaxConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    // IPv6 shards: their own queue and a probe function with an IPv6 path (infra/constructs/ipv6-scanner.ts).
    this.ipv6Scanner = new Ipv6Scanner(this, "Ipv6Scanner", {
      table: this.table,
      tableAccess: probeTableAccess,
      allowedMasters: config.allowedMasters,
      ...(config.eventRetentionDays !== undefined ? { eventRetentionDays: config.eventRetentionDays } : {}),
      maxConcurrency: config.probeMaxConcurrency,
      logRetention,
      alarmAction: new SnsAction(this.opsTopic),
    });
    this.enumerate.addEnvironment(ENV.ipv6ShardQueueUrl, this.ipv6Scanner.queue.queueUrl);
    this.ipv6Scanner.queue.grantSendMessages(this.enumerate.role);

    const webhookSecret =
      config.slackWebhookSecretArn === undefined
        ? undefined
        : Secret.fromSecretCompleteArn(this, "SlackWebhookSecret", config.slackWebhookSecretArn);
    const securityHubProductArn = `arn:${this.partition}:securityhub:${this.region}:${this.account}:product/${this.account}/default`;
    // The extension serves the webhook secret over localhost with caching, without another SDK client.
    const paramsAndSecrets =
      webhookSecret === undefined
        ? undefined
        : ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103);
    // A failed channel's alert, whole, in a FIFO queue per endpoint, delivered by notify-retry.
    this.alertRetry = new AlertRetry(this, "AlertRetry", {
      table: this.table,
      alertTopic: this.alertTopic,
      opsTopic: this.opsTopic,
      slackMinSeverity: config.slackMinSeverity,
      ...(webhookSecret !== undefined ? { webhookSecret, paramsAndSecrets } : {}),
      logRetention,
    });
    this.notify = new MonitorFunction(this, "Notify", {
      handler: "notify",
      description: "Turns recorded state-change events into alerts on the alert topic",
      memoryMb: NOTIFY_MEMORY_MB,
      timeout: Duration.seconds(NOTIFY_TIMEOUT_SECONDS),
      logRetention,
      environment: notifyEnvironment({
        alertTopicArn: this.alertTopic.topicArn,
        ...(webhookSecret !== undefined ? { slackWebhookSecretArn: webhookSecret.secretArn } : {}),
        slackMinSeverity: config.slackMinSeverity,
        alertRetryQueueUrl: this.alertRetry.queue.queueUrl,
        eventBusName: config.eventBusName,
        ...(config.securityHubImport ? { securityHubProductArn } : {}),
      }),
      paramsAndSecrets,
    });
    // Notify reads events from the stream; in the table it keeps only its delivery ledger (get, put) and
    // the owed marks of the retry queue (update), and reads the acknowledgements (query ACK).
    this.notify.bindTable(this.table, [DELIVERY_ITEMS, { actions: ["dynamodb:Query"], leadingKeys: [ACK_PK] }]);
    this.alertRetry.grantEnqueue(this.notify);
    this.alertTopic.grantPublish(this.notify.role);
    // Every state change on the event bus; findings into the monitor account's own Security Hub product.
    EventBus.fromEventBusName(this, "StateChangeBus", config.eventBusName).grantPutEventsTo(this.notify.role);
    if (config.securityHubImport) {
      this.notify.role.addToPolicy(
        new PolicyStatement({ actions: ["securityhub:BatchImportFindings"], resources: [securityHubProductArn] }),
      );
    }
    if (webhookSecret !== undefined) {
      webhookSecret.grantRead(this.notify.role);
    }
    this.notify.fn.addEventSource(
      new DynamoEventSource(this.table, {
        // From the oldest record still in the stream: nothing recorded before the mapping existed is skipped.
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: NOTIFY_BATCH_SIZE,
        bisectBatchOnError: true,
        retryAttempts: NOTIFY_RETRY_ATTEMPTS,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.streamFailureQueue),
        // Only newly inserted state-change events; current-state updates and scan records never invoke notify.
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual("INSERT"),
            dynamodb: {
              Keys: { [TABLE_SCHEMA.sortKey]: { S: FilterRule.beginsWith(TABLE_SCHEMA.eventSortKeyPrefix) } },
            },
          }),
        ],
      }),
    );

    // ---- Schedule: one scan per period; the scheduled time gives retries of the same run the same scan id.
    const schedulerRole = new Role(this, "SchedulerRole", {
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": this.account } },
      }),
      description: "EventBridge Scheduler: invoke the Exposure Monitor enumerate function",
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.enumerate.fn.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason:
        "CDK's scheduler target grants lambda:InvokeFunction on the enumerate function and its versions/aliases only.",
    });
    new Schedule(this, "ScanSchedule", {
      description: "Starts one Exposure Monitor scan",
      schedule: ScheduleExpression.rate(schedulePeriod),
      target: new LambdaInvoke(this.enumerate.fn, {
        role: schedulerRole,
        input: ScheduleTargetInput.fromObject({
          scheduledTime: ContextAttribute.scheduledTime,
          executionId: ContextAttribute.executionId,
        }),
        retryAttempts: 2,
        // A scan that could not start within one period is superseded by the next one.
        maxEventAge: Duration.seconds(Math.max(60, schedulePeriod.toSeconds())),
      }),
    });

    // ---- Alarms to the operations topic.
    const alarmAction = new SnsAction(this.opsTopic);
    const alarms: Alarm[] = [];
    alarms.push(
      new Alarm(this, "ScanNotCompletedAlarm", {
        alarmDescription: `No scan completed in two schedule periods (${2 * config.scheduleMinutes} minutes).`,
        metric: monitorMetric(METRIC.scansCompleted, "Sum", schedulePeriod),
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        threshold: 1,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        // No data means no scan finished: that is exactly what this alarm is for.
        treatMissingData: TreatMissingData.BREACHING,
      }),
      new Alarm(this, "CoverageGapAlarm", {
        alarmDescription: "A scan could not read some accounts, regions or sources: their addresses were not probed.",
        metric: monitorMetric(METRIC.coverageGaps, "Maximum", schedulePeriod),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        threshold: 0,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    for (const [name, queue] of [
      ["ShardDeadLetterQueueAlarm", this.shardDeadLetterQueue],
      ["StreamFailureQueueAlarm", this.streamFailureQueue],
    ] as const) {
      alarms.push(
        messagesWaitingAlarm(
          this,
          name,
          queue,
          `Messages are waiting in ${queue.node.id}: work that failed every retry.`,
        ),
      );
    }
    for (const monitorFn of [this.enumerate, this.probe, this.notify]) {
      alarms.push(
        functionErrorsAlarm(
          this,
          `${monitorFn.node.id}ErrorsAlarm`,
          monitorFn,
          `The ${monitorFn.node.id.toLowerCase()} function failed.`,
        ),
      );
    }
    notifyOnAlarmAndOk(alarms, alarmAction);

    // ---- Dashboard (optional, `dashboard` in the context): the alarmed metrics and the AWS metrics.
    const hour = Duration.hours(1);
    const dashboard = config.dashboard
      ? new Dashboard(this, "Dashboard", { defaultInterval: Duration.days(7) })
      : undefined;
    dashboard?.addWidgets(
      new TextWidget({ markdown: "# Exposure Monitor", width: 24, height: 1 }),
      new GraphWidget({
        title: "Scans completed and coverage gaps",
        width: 12,
        left: [monitorMetric(METRIC.scansCompleted, "Sum", hour)],
        right: [monitorMetric(METRIC.coverageGaps, "Maximum", hour)],
      }),
      new GraphWidget({
        title: "Function errors",
        width: 12,
        left: [this.enumerate, this.probe, this.notify].map((f) =>
          f.fn.metricErrors({ period: Duration.minutes(5), label: f.node.id }),
        ),
      }),
      new GraphWidget({
        title: "Probe duration (ms)",
        width: 12,
        left: [this.probe.fn.metricDuration({ period: schedulePeriod, statistic: "Maximum" })],
      }),
      new SingleValueWidget({
        title: "Dead-letter messages",
        width: 12,
        metrics: [this.shardDeadLetterQueue, this.streamFailureQueue].map((q) =>
          q.metricApproximateNumberOfMessagesVisible({ label: q.node.id }),
        ),
      }),
    );

    new CfnOutput(this, "EnumerateRoleArn", {
      value: this.enumerate.role.roleArn,
      description: "MonitorRoleArn parameter of the member-account role stack set",
    });
    new CfnOutput(this, "TableName", { value: this.table.tableName });
    new CfnOutput(this, "AlertTopicArn", { value: this.alertTopic.topicArn });
    new CfnOutput(this, "OpsTopicArn", { value: this.opsTopic.topicArn });
    if (dashboard !== undefined) new CfnOutput(this, "DashboardName", { value: dashboard.dashboardName });
  }
}

/** A metric the handlers emit through Powertools (namespace and `service` dimension from shared/metrics-names.ts). */
function monitorMetric(
  name: string,
  statistic: string,
  period: Duration,
  dimensions: Record<string, string> = {},
): Metric & IMetric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { [DIMENSION.service]: SERVICE_NAME, ...dimensions },
    statistic,
    period,
  });
}

function retentionDays(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((v): v is RetentionDays => typeof v === "number");
  const fit = allowed.filter((v) => v >= days).sort((a, b) => a - b)[0];
  return fit ?? RetentionDays.INFINITE;
}
