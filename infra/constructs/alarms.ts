// The alarms every part of the monitor raises the same way, to the operations topic on ALARM and on OK
// (docs/readme-deploy.md lists them): messages waiting in a queue that holds failed work (a dead-letter or
// on-failure queue), and a function that failed, each over five minutes. And the shard queue pair the
// sweep's probe functions read (IPv4 in the monitor stack, IPv6 in the scanner VPC).
import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IAlarmAction, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { type IQueue, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { SHARD_MAX_RECEIVE_COUNT, SHARD_VISIBILITY_TIMEOUT_SECONDS } from "../sizing.ts";
import type { MonitorFunction } from "./monitor-function.ts";

/** Alarms when any message waits in `queue` (its maximum visible count over five minutes is 1 or more). */
export function messagesWaitingAlarm(scope: Construct, id: string, queue: IQueue, description: string): Alarm {
  return new Alarm(scope, id, {
    alarmDescription: description,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: "Maximum" }),
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    threshold: 1,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}

/** Alarms when the function fails at least once in five minutes. */
export function functionErrorsAlarm(
  scope: Construct,
  id: string,
  monitorFn: MonitorFunction,
  description: string,
): Alarm {
  return new Alarm(scope, id, {
    alarmDescription: description,
    metric: monitorFn.fn.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    threshold: 1,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}

/** Every alarm goes to `action` when it fires and when it clears. */
export function notifyOnAlarmAndOk(alarms: readonly Alarm[], action: IAlarmAction): void {
  for (const alarm of alarms) {
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
}

/** The sweep's shard queue and its dead-letter queue ("ShardQueue", "ShardDeadLetterQueue" in `scope`). */
export function shardQueues(scope: Construct): { queue: Queue; deadLetterQueue: Queue } {
  const deadLetterQueue = new Queue(scope, "ShardDeadLetterQueue", {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new Queue(scope, "ShardQueue", {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout: Duration.seconds(SHARD_VISIBILITY_TIMEOUT_SECONDS),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: SHARD_MAX_RECEIVE_COUNT },
  });
  return { queue, deadLetterQueue };
}
