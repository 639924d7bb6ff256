// The alert channels of the notify and notify-retry functions, built once at cold start from the same
// environment (shared/function-env.ts): the alert topic, and the Slack webhook above its severity floor when
// configured. Both functions deliver through the same deliverers, so a channel's ledger name is the same.
import type { AlertDeliverer } from "../../shared/alerts/deliver.ts";
import { SnsDeliverer } from "../../shared/alerts/deliver-sns.ts";
import { WebhookDeliverer } from "../../shared/alerts/deliver-webhook.ts";
import { isSeverity, SeverityFloorDeliverer } from "../../shared/alerts/route.ts";
import { ENV } from "../../shared/function-env.ts";
import { snsClient } from "./clients.ts";
import { FunctionConfigError, optionalString, requiredString } from "./config.ts";
import { secretFromExtension } from "./secrets.ts";

export async function alertChannels(): Promise<AlertDeliverer[]> {
  const alertTopicArn = requiredString(ENV.alertTopicArn);
  const slackWebhookSecretArn = optionalString(ENV.slackWebhookSecretArn);
  const slackFloor = optionalString(ENV.slackMinSeverity) ?? "info";
  if (!isSeverity(slackFloor)) {
    throw new FunctionConfigError(`environment variable ${ENV.slackMinSeverity} is not a severity`);
  }
  // Read once at cold start: a missing or unreadable secret fails the init with the secret's name.
  const slackWebhookUrl =
    slackWebhookSecretArn === undefined ? undefined : await secretFromExtension(slackWebhookSecretArn);
  return [
    new SnsDeliverer({ client: snsClient, topicArn: alertTopicArn }),
    ...(slackWebhookUrl === undefined
      ? []
      : [new SeverityFloorDeliverer(new WebhookDeliverer({ url: slackWebhookUrl }), slackFloor)]),
  ];
}
