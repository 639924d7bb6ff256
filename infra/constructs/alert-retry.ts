// The alert retry path (docs/readme-alerts.md, "Delivery guarantees"): a FIFO queue that holds whole alerts for the
// channels that failed them (one message group per endpoint, so order per endpoint holds), the
// notify-retry function that delivers from it with the notify function's channels and ledger, and a FIFO
// dead-letter queue after ALERT_RETRY_MAX_RECEIVE_COUNT receives, alarmed to the operations topic.
import { Duration, Validations } from "aws-cdk-lib";
import type { Alarm } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import type { ParamsAndSecretsLayerVersion } from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { alertChannelsEnvironment } from "../../shared/function-env.ts";
import {
  ALERT_RETRY_MAX_RECEIVE_COUNT,
  ALERT_RETRY_VISIBILITY_TIMEOUT_SECONDS,
  NOTIFY_MEMORY_MB,
  NOTIFY_TIMEOUT_SECONDS,
} from "../sizing.ts";
import { functionErrorsAlarm, messagesWaitingAlarm, notifyOnAlarmAndOk } from "./alarms.ts";
import { MonitorFunction } from "./monitor-function.ts";

export interface AlertRetryProps {
  table: Table;
  alertTopic: ITopic;
  opsTopic: ITopic;
  slackMinSeverity?: string;
  webhookSecret?: ISecret;
  paramsAndSecrets?: ParamsAndSecretsLayerVersion;
  logRetention?: RetentionDays;
}

/** The owed marks and the ledger: items whose partition key starts with DELIVERY#. */
export const DELIVERY_ITEMS = {
  actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
  leadingKeys: ["DELIVERY#"],
} as const;

export class AlertRetry extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly retry: MonitorFunction;
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: AlertRetryProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      fifo: true,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "AwsSolutions::AwsSolutions-SQS3",
      reason: "This queue is the alert retry queue's dead-letter queue; it is alarmed when not empty.",
    });
    this.queue = new Queue(this, "Queue", {
      fifo: true,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(ALERT_RETRY_VISIBILITY_TIMEOUT_SECONDS),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: ALERT_RETRY_MAX_RECEIVE_COUNT },
    });

    this.retry = new MonitorFunction(this, "NotifyRetry", {
      handler: "notify-retry",
      description: "Delivers alerts a channel failed, from the alert retry queue, in order per endpoint",
      memoryMb: NOTIFY_MEMORY_MB,
      timeout: Duration.seconds(NOTIFY_TIMEOUT_SECONDS),
      logRetention: props.logRetention,
      environment: alertChannelsEnvironment({
        alertTopicArn: props.alertTopic.topicArn,
        ...(props.webhookSecret !== undefined ? { slackWebhookSecretArn: props.webhookSecret.secretArn } : {}),
        ...(props.slackMinSeverity !== undefined ? { slackMinSeverity: props.slackMinSeverity } : {}),
        alertRetryQueueUrl: this.queue.queueUrl,
      }),
      paramsAndSecrets: props.paramsAndSecrets,
    });
    this.retry.bindTable(props.table, [DELIVERY_ITEMS]);
    props.alertTopic.grantPublish(this.retry.role);
    props.webhookSecret?.grantRead(this.retry.role);
    this.retry.fn.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));

    const action = new SnsAction(props.opsTopic);
    this.deadLetterAlarm = messagesWaitingAlarm(
      this,
      "DeadLetterAlarm",
      this.deadLetterQueue,
      "Alerts wait in the alert retry dead-letter queue: a channel failed every retry.",
    );
    const errors = functionErrorsAlarm(this, "NotifyRetryErrorsAlarm", this.retry, "The notify-retry function failed.");
    notifyOnAlarmAndOk([this.deadLetterAlarm, errors], action);
  }

  /** The notify function only sends to the queue (it marks what it queued with DELIVERY_ITEMS' grants). */
  grantEnqueue(notify: MonitorFunction): void {
    this.queue.grantSendMessages(notify.role);
  }
}
