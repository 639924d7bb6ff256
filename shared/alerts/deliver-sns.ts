// Alerts published to an SNS topic. The message is the alert JSON for machine subscribers
// (SQS, Lambda); HTTPS subscribers, AWS Chatbot among them, get the alert as a Chatbot custom
// notification (chatbot.ts); email subscribers get the plain-text body and SMS the subject line, through
// SNS's per-protocol message structure. Message attributes `kind`, `severity`, `account` and the owner
// tags (`owner.<key>`) let subscriptions filter (e.g. only critical alerts of one account to a team's mailbox).
import { PublishCommand, type PublishCommandInput, type SNSClient } from "@aws-sdk/client-sns";
import type { Alert } from "./alert.ts";
import { chatbotNotification } from "./chatbot.ts";
import type { AlertDeliverer } from "./deliver.ts";
import { alertJson, emailBody, emailSubject } from "./render.ts";
import { awsDeliveryError, DEFAULT_RETRY, type RetryPolicy, withRetries } from "./retry.ts";

/** SNS message attribute values must not be empty. */
export const UNKNOWN_ACCOUNT = "unknown";

/** SNS takes at most 10 message attributes: kind, severity, account, and up to 7 owner tags. */
export const MAX_OWNER_ATTRIBUTES = 7;

/**
 * Owner tags as attributes `owner.<key>` (e.g. `owner.team`), for subscription filter policies that
 * route a team's alerts to it. Names keep SNS's allowed characters; empty values are left out.
 */
export function ownerAttributes(alert: Alert): NonNullable<PublishCommandInput["MessageAttributes"]> {
  const attributes: NonNullable<PublishCommandInput["MessageAttributes"]> = {};
  const owners = Object.entries(alert.asset?.owners ?? {}).sort(([a], [b]) => a.localeCompare(b));
  for (const [key, value] of owners) {
    const name = `owner.${key.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 200)}`;
    const text = value
      .replace(/[\u0000-\u001f]/g, " ")
      .trim()
      .slice(0, 256);
    if (text === "" || Object.hasOwn(attributes, name)) continue;
    if (Object.keys(attributes).length === MAX_OWNER_ATTRIBUTES) break;
    attributes[name] = { DataType: "String", StringValue: text };
  }
  return attributes;
}

export function snsPublishInput(topicArn: string, alert: Alert): PublishCommandInput {
  return {
    TopicArn: topicArn,
    Subject: emailSubject(alert),
    MessageStructure: "json",
    Message: JSON.stringify({
      default: alertJson(alert),
      https: JSON.stringify(chatbotNotification(alert)),
      email: emailBody(alert),
      sms: emailSubject(alert),
    }),
    MessageAttributes: {
      kind: { DataType: "String", StringValue: alert.kind },
      severity: { DataType: "String", StringValue: alert.severity },
      account: { DataType: "String", StringValue: alert.asset?.account ?? UNKNOWN_ACCOUNT },
      ...ownerAttributes(alert),
    },
  };
}

export interface SnsDelivererOptions {
  client: SNSClient;
  topicArn: string;
  /**
   * Retries on top of the SDK's own (standard mode already retries throttling and 5xx):
   * these cover errors that outlast the SDK's attempts.
   */
  retry?: RetryPolicy;
}

export class SnsDeliverer implements AlertDeliverer {
  readonly name: string;
  readonly #client: SNSClient;
  readonly #topicArn: string;
  readonly #retry: RetryPolicy;

  constructor(options: SnsDelivererOptions) {
    this.name = `sns:${options.topicArn}`;
    this.#client = options.client;
    this.#topicArn = options.topicArn;
    this.#retry = options.retry ?? { ...DEFAULT_RETRY, attempts: 3 };
  }

  async deliver(alert: Alert, budget?: AbortSignal): Promise<void> {
    const input = snsPublishInput(this.#topicArn, alert);
    await withRetries(
      this.#retry,
      async () => {
        try {
          await this.#client.send(new PublishCommand(input), budget ? { abortSignal: budget } : {});
        } catch (error) {
          throw awsDeliveryError("SNS Publish", error);
        }
      },
      budget,
    );
  }
}
