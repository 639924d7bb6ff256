// Lets this account's CloudWatch alarms publish to a topic. A topic policy with statements of its own
// replaces SNS's default policy, and `enforceSSL` adds one (a deny of non-TLS publishing): without an
// allow for the CloudWatch service principal, every alarm action to the topic fails and the monitor's
// own alarms (scan not completed, dead-letter queue not empty, function errors, probe errors) reach
// nobody. Scoped to alarms of this account and region; the topic's KMS key grants CloudWatch the key
// separately (docs/readme-deploy.md, "Operations topic").
import { Stack } from "aws-cdk-lib";
import { Effect, PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { ITopic } from "aws-cdk-lib/aws-sns";

export const CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com";

/** The ARN pattern of every CloudWatch alarm of `stack`'s account and region. */
export function alarmArnPattern(stack: Stack): string {
  return `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*`;
}

export function allowAlarmPublishing(topic: ITopic): void {
  const stack = Stack.of(topic);
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: "CloudWatchAlarmsOfThisAccountPublish",
      effect: Effect.ALLOW,
      principals: [new ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { "aws:SourceAccount": stack.account },
        ArnLike: { "aws:SourceArn": alarmArnPattern(stack) },
      },
    }),
  );
}
