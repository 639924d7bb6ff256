// What the monitor stack must contain (docs/readme-deploy.md, docs/architecture.md), asserted on the synthesized template.
import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ALERT_RETRY_MAX_RECEIVE_COUNT,
  ALERT_RETRY_VISIBILITY_TIMEOUT_SECONDS,
  NOTIFY_TIMEOUT_SECONDS,
  PROBE_BATCH_SIZE,
  PROBE_BATCHING_WINDOW_SECONDS,
  PROBE_MEMORY_MB,
  PROBE_SOCKET_CONCURRENCY,
  PROBE_TIMEOUT_SECONDS,
  SHARD_MAX_RECEIVE_COUNT,
  SHARD_SIZE,
} from "../../infra/sizing.ts";
import { NOTIFY_DELIVERY_BUDGET_MS } from "../../shared/function-env.ts";
import { DIMENSION, METRIC, METRICS_NAMESPACE, SERVICE_NAME } from "../../shared/metrics-names.ts";
import { createTableInput, TABLE_SCHEMA } from "../../shared/store/schema.ts";
import { logicalIdOf, type SynthesizedApp, synthesizeApp } from "./synth-helper.ts";

const ref = (construct: Parameters<typeof logicalIdOf>[0]) => ({ Ref: logicalIdOf(construct) });
const arnOf = (construct: Parameters<typeof logicalIdOf>[0]) => ({ "Fn::GetAtt": [logicalIdOf(construct), "Arn"] });

/** All statements of all IAM policies attached to a role, flattened. */
function statementsOfRole(template: Template, roleLogicalId: string): Array<Record<string, unknown>> {
  const policies = template.findResources("AWS::IAM::Policy", {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  return Object.values(policies).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties
        .PolicyDocument.Statement,
  );
}
function actionsOfRole(template: Template, roleLogicalId: string): string[] {
  return statementsOfRole(template, roleLogicalId).flatMap((s) => [s.Action as string | string[]].flat());
}

interface FunctionResource {
  Properties: {
    Runtime: string;
    Architectures: string[];
    Handler: string;
    TracingConfig: unknown;
    Environment: { Variables: Record<string, string> };
    LoggingConfig: { LogGroup: unknown };
    VpcConfig?: unknown;
  };
}
interface StreamMappingResource {
  Properties: {
    EventSourceArn: unknown;
    StartingPosition: string;
    BisectBatchOnFunctionError: boolean;
    MaximumRetryAttempts: number;
    FunctionResponseTypes: string[];
    DestinationConfig: unknown;
    FilterCriteria: { Filters: Array<{ Pattern: string }> };
  };
}

describe("monitor stack with default context", () => {
  let synth: SynthesizedApp;
  let template: Template;
  beforeAll(() => {
    synth = synthesizeApp();
    template = synth.monitorTemplate;
  });

  it("schedules the enumerate function every 15 minutes with the scheduled time as input", () => {
    template.resourceCountIs("AWS::Scheduler::Schedule", 1);
    const schedule = Object.values(template.findResources("AWS::Scheduler::Schedule"))[0] as {
      Properties: { ScheduleExpression: string; Target: { Arn: unknown; Input: string; RetryPolicy: unknown } };
    };
    expect(schedule.Properties.ScheduleExpression).toBe("rate(15 minutes)");
    expect(schedule.Properties.Target.Arn).toEqual(arnOf(synth.monitor.enumerate.fn));
    expect(JSON.parse(schedule.Properties.Target.Input)).toEqual({
      scheduledTime: "<aws.scheduler.scheduled-time>",
      executionId: "<aws.scheduler.execution-id>",
    });
  });

  it("encrypts the shard queue, enforces TLS and redrives to an encrypted dead-letter queue", () => {
    const { shardQueue, shardDeadLetterQueue, streamFailureQueue } = synth.monitor;
    template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 6 * PROBE_TIMEOUT_SECONDS,
      RedrivePolicy: { deadLetterTargetArn: arnOf(shardDeadLetterQueue), maxReceiveCount: SHARD_MAX_RECEIVE_COUNT },
    });
    const queues = template.findResources("AWS::SQS::Queue");
    const { queue: ipv6Queue, deadLetterQueue: ipv6DeadLetterQueue } = synth.monitor.ipv6Scanner;
    const { queue: retryQueue, deadLetterQueue: retryDeadLetterQueue } = synth.monitor.alertRetry;
    expect(Object.keys(queues).sort()).toEqual(
      [
        shardQueue,
        shardDeadLetterQueue,
        streamFailureQueue,
        ipv6Queue,
        ipv6DeadLetterQueue,
        retryQueue,
        retryDeadLetterQueue,
      ]
        .map((q) => logicalIdOf(q))
        .sort(),
    );
    for (const queue of Object.values(queues) as Array<{ Properties: Record<string, unknown> }>) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
    for (const queue of [shardQueue, shardDeadLetterQueue, streamFailureQueue, retryQueue, retryDeadLetterQueue]) {
      template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [ref(queue)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ]),
        },
      });
    }
  });

  it("feeds the probe a batch of shards per invocation with capped concurrency and partial batch failures", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: arnOf(synth.monitor.shardQueue),
      FunctionName: ref(synth.monitor.probe.fn),
      BatchSize: PROBE_BATCH_SIZE,
      MaximumBatchingWindowInSeconds: PROBE_BATCHING_WINDOW_SECONDS,
      ScalingConfig: { MaximumConcurrency: 20 },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("runs the probe outside any VPC on Node 22 arm64 with the sizing and Powertools environment", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Probes"),
      VpcConfig: Match.absent(),
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      MemorySize: PROBE_MEMORY_MB,
      Timeout: PROBE_TIMEOUT_SECONDS,
      // Probe traces are not worth their price (docs/readme-deploy.md, "What it costs").
      TracingConfig: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          PROBE_SOCKET_CONCURRENCY: String(PROBE_SOCKET_CONCURRENCY),
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          LOG_LEVEL: "INFO",
          TABLE_NAME: ref(synth.monitor.table),
        }),
      },
    });
    // Sockets per invocation stay well inside Lambda's 1,024 file descriptors.
    expect(PROBE_SOCKET_CONCURRENCY).toBeLessThanOrEqual(1000);
  });

  it("gives every function the same defaults: its own log group with retention, tracing, source maps", () => {
    const functions = template.findResources("AWS::Lambda::Function");
    // enumerate, probe, notify, notify-retry and the IPv6 scanner's probe.
    expect(Object.keys(functions)).toHaveLength(5);
    const ipv6Probe = logicalIdOf(synth.monitor.ipv6Scanner.probe.fn);
    for (const [id, fn] of Object.entries(functions) as [string, FunctionResource][]) {
      expect(fn.Properties.Runtime).toBe("nodejs22.x");
      expect(fn.Properties.Architectures).toEqual(["arm64"]);
      const probe = id === logicalIdOf(synth.monitor.probe.fn) || id === ipv6Probe;
      expect(fn.Properties.TracingConfig).toEqual(probe ? undefined : { Mode: "Active" });
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe("--enable-source-maps");
      expect(fn.Properties.Handler).toBe("index.handler");
      expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/Logs/) });
      // Only the IPv6 probe function sits in a VPC (its scanner VPC); the rest probe and read from outside any.
      if (id === ipv6Probe) expect(fn.Properties.VpcConfig).toMatchObject({ Ipv6AllowedForDualStack: true });
      else expect(fn.Properties.VpcConfig).toBeUndefined();
    }
    // Four functions' logs and the scanner VPC's rejected-flow log.
    template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 30 }, 6);
  });

  it("keeps the table on demand with PITR, deletion protection, a rotating customer key, TTL and a stream", () => {
    const { table } = synth.monitor;
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      Properties: Match.objectLike({
        BillingMode: "PAY_PER_REQUEST",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: {
          SSEEnabled: true,
          SSEType: "KMS",
          KMSMasterKeyId: arnOf(synth.monitor.tableKey),
        },
        TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
        StreamSpecification: { StreamViewType: TABLE_SCHEMA.streamViewType },
      }),
    });
    // The same keys and indexes the store creates locally (shared/store/schema.ts).
    const local = createTableInput("any");
    const deployed = template.findResources("AWS::DynamoDB::Table")[logicalIdOf(table)]?.Properties;
    expect(deployed.KeySchema).toEqual(local.KeySchema);
    expect(deployed.KeySchema).toEqual([
      { AttributeName: "PK", KeyType: "HASH" },
      { AttributeName: "SK", KeyType: "RANGE" },
    ]);
    expect(deployed.GlobalSecondaryIndexes).toEqual(local.GlobalSecondaryIndexes);
    expect(deployed.GlobalSecondaryIndexes.map((i: { IndexName: string }) => i.IndexName)).toEqual(
      expect.arrayContaining(["GSI1", "GSI2"]),
    );
    expect(deployed.AttributeDefinitions).toEqual(expect.arrayContaining(local.AttributeDefinitions ?? []));
    expect(deployed.AttributeDefinitions).toHaveLength(local.AttributeDefinitions?.length ?? -1);
    // One customer-managed key for the table, its stream and the topics.
    const keys = template.findResources("AWS::KMS::Key");
    expect(Object.keys(keys)).toHaveLength(1);
    expect(synth.monitor.topicKey).toBe(synth.monitor.tableKey);
    for (const key of Object.values(keys) as Array<{ Properties: Record<string, unknown>; DeletionPolicy: string }>) {
      expect(key.Properties.EnableKeyRotation).toBe(true);
      expect(key.DeletionPolicy).toBe("Retain");
    }
  });

  it("invokes notify only for inserted state-change events, bisecting, retrying and never dropping a record", () => {
    const mappings = template.findResources("AWS::Lambda::EventSourceMapping", {
      Properties: { FunctionName: ref(synth.monitor.notify.fn) },
    });
    const mapping = Object.values(mappings)[0] as StreamMappingResource | undefined;
    expect(mapping).toBeDefined();
    const props = mapping!.Properties;
    expect(props.EventSourceArn).toEqual({ "Fn::GetAtt": [logicalIdOf(synth.monitor.table), "StreamArn"] });
    expect(props.StartingPosition).toBe("TRIM_HORIZON");
    expect(props.BisectBatchOnFunctionError).toBe(true);
    expect(props.MaximumRetryAttempts).toBe(5);
    expect(props.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
    expect(props.DestinationConfig).toEqual({ OnFailure: { Destination: arnOf(synth.monitor.streamFailureQueue) } });
    expect(props.FilterCriteria.Filters).toHaveLength(1);
    expect(JSON.parse(props.FilterCriteria.Filters[0]!.Pattern)).toEqual({
      eventName: ["INSERT"],
      dynamodb: { Keys: { SK: { S: [{ prefix: "EVENT#" }] } } },
    });
  });

  it("encrypts both topics with the customer key and denies non-TLS publishing", () => {
    const { alertTopic, opsTopic } = synth.monitor;
    for (const topic of [alertTopic, opsTopic]) {
      const topicResource = template.findResources("AWS::SNS::Topic")[logicalIdOf(topic)];
      expect(topicResource?.Properties.KmsMasterKeyId).toEqual(arnOf(synth.monitor.topicKey));
      template.hasResourceProperties("AWS::SNS::TopicPolicy", {
        Topics: [ref(topic)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "sns:Publish",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    }
    template.resourceCountIs("AWS::SNS::Topic", 2);
    // No subscriptions unless the deployer names them.
    template.resourceCountIs("AWS::SNS::Subscription", 0);
    template.resourceCountIs("AWS::Chatbot::SlackChannelConfiguration", 0);
    // CloudWatch may use the topic key to publish alarms to the encrypted operations topic.
    template.hasResourceProperties("AWS::KMS::Key", {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
          }),
        ]),
      },
    });
  });

  it("lets this account's CloudWatch alarms publish to the operations topic (its policy replaces the default)", () => {
    const policies = Object.values(template.findResources("AWS::SNS::TopicPolicy"));
    const policyOf = (topic: Parameters<typeof ref>[0]) =>
      policies.find((policy) => JSON.stringify(policy.Properties.Topics) === JSON.stringify([ref(topic)]));
    const statements = (topic: Parameters<typeof ref>[0]) =>
      (policyOf(topic)?.Properties.PolicyDocument.Statement ?? []) as Array<Record<string, unknown>>;
    const allows = statements(synth.monitor.opsTopic).filter((statement) => statement.Effect === "Allow");
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Resource: ref(synth.monitor.opsTopic),
      Condition: {
        StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
        ArnLike: {
          "aws:SourceArn": {
            "Fn::Join": [
              "",
              [
                "arn:",
                { Ref: "AWS::Partition" },
                ":cloudwatch:",
                { Ref: "AWS::Region" },
                ":",
                { Ref: "AWS::AccountId" },
                ":alarm:*",
              ],
            ],
          },
        },
      },
    });
    // The non-TLS deny stays; the alert topic, which only the notify function's role publishes to, allows no service.
    expect(statements(synth.monitor.opsTopic).some((statement) => statement.Effect === "Deny")).toBe(true);
    expect(statements(synth.monitor.alertTopic).filter((statement) => statement.Effect === "Allow")).toEqual([]);
    // Every alarm of the stack acts on the operations topic, the one CloudWatch may publish to.
    for (const alarm of Object.values(template.findResources("AWS::CloudWatch::Alarm"))) {
      expect(alarm.Properties.AlarmActions).toEqual([ref(synth.monitor.opsTopic)]);
    }
  });

  it("alarms to the operations topic when no scan completes in two periods, missing data breaching", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.scansCompleted,
      Dimensions: [{ Name: DIMENSION.service, Value: SERVICE_NAME }],
      Statistic: "Sum",
      Period: 15 * 60,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      ComparisonOperator: "LessThanThreshold",
      Threshold: 1,
      TreatMissingData: "breaching",
      AlarmActions: [ref(synth.monitor.opsTopic)],
    });
  });

  it("alarms when either dead-letter queue holds a message, on function errors and on coverage gaps", () => {
    for (const queue of [synth.monitor.shardDeadLetterQueue, synth.monitor.streamFailureQueue]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [logicalIdOf(queue), "QueueName"] } }],
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        Threshold: 1,
        AlarmActions: [ref(synth.monitor.opsTopic)],
      });
    }
    for (const monitorFn of [synth.monitor.enumerate, synth.monitor.probe, synth.monitor.notify]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Dimensions: [{ Name: "FunctionName", Value: ref(monitorFn.fn) }],
        Threshold: 1,
        AlarmActions: [ref(synth.monitor.opsTopic)],
      });
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.coverageGaps,
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      AlarmActions: [ref(synth.monitor.opsTopic)],
    });
    // And the IPv6 scanner's two (its dead-letter queue, its function's errors) and the alert retry
    // path's two (its dead-letter queue, notify-retry's errors).
    template.resourceCountIs("AWS::CloudWatch::Alarm", 11);
  });

  it("retries a failed channel from a FIFO queue of whole alerts, consumed by notify-retry, dead-lettered and alarmed", () => {
    const { alertRetry, notify, opsTopic, alertTopic } = synth.monitor;
    const queues = template.findResources("AWS::SQS::Queue");
    const queue = queues[logicalIdOf(alertRetry.queue)]?.Properties as Record<string, unknown>;
    const dlq = queues[logicalIdOf(alertRetry.deadLetterQueue)]?.Properties as Record<string, unknown>;
    expect(queue.FifoQueue).toBe(true);
    expect(queue.ContentBasedDeduplication).toBeUndefined();
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(queue.VisibilityTimeout).toBe(ALERT_RETRY_VISIBILITY_TIMEOUT_SECONDS);
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(alertRetry.deadLetterQueue),
      maxReceiveCount: ALERT_RETRY_MAX_RECEIVE_COUNT,
    });
    expect(dlq.FifoQueue).toBe(true);
    expect(dlq.SqsManagedSseEnabled).toBe(true);
    // SQS event sources want the visibility timeout at least the function's timeout.
    expect(ALERT_RETRY_VISIBILITY_TIMEOUT_SECONDS).toBeGreaterThanOrEqual(NOTIFY_TIMEOUT_SECONDS);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [
        { Name: "QueueName", Value: { "Fn::GetAtt": [logicalIdOf(alertRetry.deadLetterQueue), "QueueName"] } },
      ],
      Threshold: 1,
      AlarmActions: [ref(opsTopic)],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: ref(alertRetry.retry.fn) }],
      AlarmActions: [ref(opsTopic)],
    });
    // notify-retry consumes the queue, with partial batch responses; notify knows the queue's URL.
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: ref(alertRetry.retry.fn),
      EventSourceArn: arnOf(alertRetry.queue),
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    const functions = template.findResources("AWS::Lambda::Function");
    const env = (fn: typeof notify) =>
      (functions[logicalIdOf(fn.fn)]!.Properties as FunctionResource["Properties"]).Environment.Variables;
    expect(env(notify).ALERT_RETRY_QUEUE_URL).toEqual(ref(alertRetry.queue));
    expect(env(alertRetry.retry).ALERT_TOPIC_ARN).toEqual(ref(alertTopic));
    const retryActions = actionsOfRole(template, logicalIdOf(alertRetry.retry.role));
    expect(retryActions).toEqual(expect.arrayContaining(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sns:Publish"]));
    expect(retryActions).not.toContain("sqs:SendMessage");
    const consume = statementsOfRole(template, logicalIdOf(alertRetry.retry.role)).filter((s) =>
      [s.Action].flat().includes("sqs:ReceiveMessage"),
    );
    expect(consume.map((s) => s.Resource)).toEqual([arnOf(alertRetry.queue)]);
    expect(retryActions.filter((a) => a.startsWith("dynamodb:")).sort()).toEqual([
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]);
  });

  it("draws no dashboard unless asked; asked, it graphs the alarmed metrics", () => {
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 0);
    const withDashboard = synthesizeApp({ dashboard: true }).monitorTemplate;
    const dashboards = Object.values(withDashboard.findResources("AWS::CloudWatch::Dashboard"));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify((dashboards[0] as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody);
    for (const name of [METRIC.scansCompleted, METRIC.coverageGaps]) expect(body).toContain(`\\"${name}\\"`);
  });

  it("grants each function only what it uses", () => {
    const { enumerate, probe, notify, shardQueue, alertTopic } = synth.monitor;
    const enumerateActions = actionsOfRole(template, logicalIdOf(enumerate.role));
    const probeActions = actionsOfRole(template, logicalIdOf(probe.role));
    const notifyActions = actionsOfRole(template, logicalIdOf(notify.role));

    expect(enumerateActions).toEqual(
      expect.arrayContaining(["sqs:SendMessage", "sts:AssumeRole", "ec2:DescribeRegions"]),
    );
    expect(probeActions).not.toContain("sqs:SendMessage");
    for (const actions of [probeActions, notifyActions]) {
      expect(actions).not.toContain("sts:AssumeRole");
      expect(actions).not.toContain("ec2:DescribeNetworkInterfaces");
    }
    expect(notifyActions).toContain("sns:Publish");
    expect(enumerateActions).not.toContain("sns:Publish");
    expect(probeActions).not.toContain("sns:Publish");
    expect(probeActions).toEqual(expect.arrayContaining(["sqs:ReceiveMessage", "sqs:DeleteMessage"]));
    // Table actions: only those each function calls; nobody can scan, delete or batch-write.
    const tableActions = (actions: string[]) => actions.filter((a) => a.startsWith("dynamodb:")).sort();
    expect(tableActions(enumerateActions)).toEqual([
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    expect(tableActions(probeActions)).toEqual([
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    // Only the probe writes endpoint records, and nobody may update one: UpdateItem and the other writes are
    // limited to scan items (SCAN#...) or the delivery ledger (DELIVERY#...) by dynamodb:LeadingKeys.
    const leading = (roleId: string, action: string) =>
      statementsOfRole(template, roleId)
        .filter((st) => [st.Action].flat().includes(action))
        .map(
          (st) =>
            (st.Condition as Record<string, Record<string, unknown>> | undefined)?.["ForAllValues:StringLike"]?.[
              "dynamodb:LeadingKeys"
            ],
        );
    expect(leading(logicalIdOf(probe.role), "dynamodb:UpdateItem")).toEqual([["SCAN#*"]]);
    // Enumerate: scan items, and the event an expired acknowledgement records (a new item only) with its mark.
    expect(leading(logicalIdOf(enumerate.role), "dynamodb:PutItem")).toEqual([["SCAN#*", "ENDPOINT#*"]]);
    expect(leading(logicalIdOf(enumerate.role), "dynamodb:UpdateItem")).toEqual([["ACK*"]]);
    expect(leading(logicalIdOf(enumerate.role), "dynamodb:GetItem")).toEqual([["ENDPOINT#*"]]);
    expect(leading(logicalIdOf(notify.role), "dynamodb:PutItem")).toEqual([["DELIVERY#*"]]);
    const streamRead = [
      "dynamodb:DescribeStream",
      "dynamodb:GetRecords",
      "dynamodb:GetShardIterator",
      "dynamodb:ListStreams",
    ];
    expect(tableActions(notifyActions).filter((a) => !streamRead.includes(a))).toEqual([
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    // The ledger and the retry queue's owed marks only; acknowledgements read, never written.
    expect(leading(logicalIdOf(notify.role), "dynamodb:UpdateItem")).toEqual([["DELIVERY#*"]]);
    expect(leading(logicalIdOf(notify.role), "dynamodb:Query")).toEqual([["ACK*"]]);

    const assume = statementsOfRole(template, logicalIdOf(enumerate.role)).find((s) => s.Action === "sts:AssumeRole");
    expect(JSON.stringify(assume?.Resource)).toContain(":role/ExposureMonitorReadOnly");
    expect(assume?.Condition).toBeUndefined();
    const send = statementsOfRole(template, logicalIdOf(enumerate.role)).find((s) =>
      [s.Action].flat().includes("sqs:SendMessage"),
    );
    expect(send?.Resource).toEqual(arnOf(shardQueue));
    // Notify may send only to its stream's on-failure queue (the event source's destination) and to the
    // alert retry queue, and consumes neither.
    const notifySend = statementsOfRole(template, logicalIdOf(notify.role)).filter((s) =>
      [s.Action].flat().includes("sqs:SendMessage"),
    );
    expect(notifySend.map((s) => s.Resource)).toEqual(
      expect.arrayContaining([arnOf(synth.monitor.streamFailureQueue), arnOf(synth.monitor.alertRetry.queue)]),
    );
    expect(notifySend).toHaveLength(2);
    expect(notifyActions).not.toContain("sqs:ReceiveMessage");
    expect(notifyActions).not.toContain("sqs:DeleteMessage");
    const publish = statementsOfRole(template, logicalIdOf(notify.role)).find((s) => s.Action === "sns:Publish");
    expect(publish?.Resource).toEqual(ref(alertTopic));
    // Logs go only to the function's own log group, not through the broad managed policy.
    template.resourcePropertiesCountIs("AWS::IAM::Role", { ManagedPolicyArns: Match.anyValue() }, 0);
  });

  it("gives the enumerate function the event retention, for the expiry events it records", () => {
    const functions = (t: ReturnType<typeof synthesizeApp>["monitorTemplate"]) =>
      Object.values(t.findResources("AWS::Lambda::Function")) as {
        Properties: { Description?: string; Environment?: { Variables?: Record<string, unknown> } };
      }[];
    const enumerateEnv = (t: ReturnType<typeof synthesizeApp>["monitorTemplate"]) =>
      functions(t).find((fn) => fn.Properties.Description?.startsWith("Lists"))?.Properties.Environment?.Variables;
    expect(enumerateEnv(synthesizeApp({ eventRetentionDays: 400 }).monitorTemplate)).toMatchObject({
      EVENT_RETENTION_DAYS: "400",
    });
    expect(enumerateEnv(template)).not.toHaveProperty("EVENT_RETENTION_DAYS");
  });

  it("passes the enumerate function what it needs to shard and to assume member roles", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Lists"),
      Environment: {
        Variables: Match.objectLike({
          SHARD_QUEUE_URL: ref(synth.monitor.shardQueue),
          SHARD_SIZE: String(SHARD_SIZE),
          PROBE_PORTS: "6379",
          MEMBER_ROLE_NAME: "ExposureMonitorReadOnly",
          EXTERNAL_ID: "exposure-monitor",
          ACCOUNTS: "organization",
        }),
      },
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('"REGIONS"');
    // Set and never read: not part of the environment contract (shared/function-env.ts).
    expect(JSON.stringify(template.toJSON())).not.toContain("SCHEDULE_MINUTES");
    const ownRead = statementsOfRole(template, logicalIdOf(synth.monitor.enumerate.role)).find((s) =>
      [s.Action].flat().includes("organizations:ListAccounts"),
    );
    expect([ownRead?.Action].flat().sort()).toEqual([
      "ec2:DescribeAddresses",
      "ec2:DescribeInstances",
      "ec2:DescribeNetworkAcls",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRegions",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroupRules",
      "ec2:GetManagedPrefixListEntries",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancers",
      "globalaccelerator:ListAccelerators",
      "lightsail:GetInstances",
      "lightsail:GetStaticIps",
      "organizations:ListAccounts",
      "rds:DescribeDBInstances",
    ]);
    template.hasOutput("EnumerateRoleArn", { Value: arnOf(synth.monitor.enumerate.role) });
  });
});

describe("monitor stack with context values", () => {
  let synth: SynthesizedApp;
  let template: Template;
  const webhookSecretArn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:exposure-slack-webhook-AbCdEf";
  beforeAll(() => {
    synth = synthesizeApp({
      scheduleMinutes: "5",
      probeMaxConcurrency: "50",
      probePorts: "6379,6380",
      alertEmails: "security@example.com, soc@example.com",
      opsEmails: ["ops@example.com"],
      slackWorkspaceId: "T0123ABCD",
      slackChannelId: "C0456EFGH",
      slackWebhookSecretArn: webhookSecretArn,
      organizationId: "o-abcdefghij",
      accounts: "111122223333,444455556666",
      regions: "eu-west-1,us-east-1",
      externalId: "org-secret-id",
      logRetentionDays: "90",
      allowedMasters: "198.51.100.7,203.0.113.0/24",
    });
    template = synth.monitorTemplate;
  });

  it("uses the configured schedule rate for the schedule and the scan-completed alarm", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", { ScheduleExpression: "rate(5 minutes)" });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: METRIC.scansCompleted,
      Period: 300,
      EvaluationPeriods: 2,
      TreatMissingData: "breaching",
    });
  });

  it("passes the allowed replication masters to the probe only", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Probes"),
      Environment: { Variables: Match.objectLike({ ALLOWED_MASTERS: "198.51.100.7,203.0.113.0/24" }) },
    });
    expect(JSON.stringify(synthesizeApp().monitorTemplate.toJSON())).not.toContain("ALLOWED_MASTERS");
  });

  it("uses the configured probe concurrency and ports", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: PROBE_BATCH_SIZE,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          PROBE_PORTS: "6379,6380",
          EXTERNAL_ID: "org-secret-id",
          ACCOUNTS: "111122223333,444455556666",
          REGIONS: "eu-west-1,us-east-1",
        }),
      },
    });
    template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 90 }, 6);
  });

  it("subscribes every configured email to the right topic", () => {
    template.resourceCountIs("AWS::SNS::Subscription", 3);
    for (const address of ["security@example.com", "soc@example.com"]) {
      template.hasResourceProperties("AWS::SNS::Subscription", {
        Protocol: "email",
        Endpoint: address,
        TopicArn: ref(synth.monitor.alertTopic),
      });
    }
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
      TopicArn: ref(synth.monitor.opsTopic),
    });
  });

  it("connects the Slack channel through AWS Chatbot to both topics", () => {
    template.hasResourceProperties("AWS::Chatbot::SlackChannelConfiguration", {
      SlackWorkspaceId: "T0123ABCD",
      SlackChannelId: "C0456EFGH",
      SnsTopicArns: [ref(synth.monitor.alertTopic), ref(synth.monitor.opsTopic)],
    });
  });

  it("gives notify a delivery budget well below its timeout (a hanging channel never times the function out)", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Turns"),
      Timeout: NOTIFY_TIMEOUT_SECONDS,
    });
    // The budget, the margin the handler keeps before the timeout (5 s), and room for the ledger writes.
    expect(NOTIFY_DELIVERY_BUDGET_MS + 5_000).toBeLessThanOrEqual((NOTIFY_TIMEOUT_SECONDS * 1000) / 1.5);
  });

  it("lets notify read the webhook secret through the Parameters and Secrets extension", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("^Turns"),
      Layers: [Match.objectLike({ "Fn::FindInMap": Match.anyValue() })],
      Environment: { Variables: Match.objectLike({ SLACK_WEBHOOK_SECRET_ARN: webhookSecretArn }) },
    });
    const statements = statementsOfRole(template, logicalIdOf(synth.monitor.notify.role));
    const read = statements.find((s) => [s.Action].flat().includes("secretsmanager:GetSecretValue"));
    expect(read?.Resource).toBe(webhookSecretArn);
    for (const other of [synth.monitor.enumerate, synth.monitor.probe]) {
      expect(actionsOfRole(template, logicalIdOf(other.role))).not.toContain("secretsmanager:GetSecretValue");
    }
  });

  it("restricts the member-role assumption to the organization", () => {
    const assume = statementsOfRole(template, logicalIdOf(synth.monitor.enumerate.role)).find(
      (s) => s.Action === "sts:AssumeRole",
    );
    expect(assume?.Condition).toEqual({ StringEquals: { "aws:ResourceOrgID": "o-abcdefghij" } });
  });
});
