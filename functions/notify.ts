// Notify: fed by the table's stream, filtered to inserted state-change events (infra/monitor-stack.ts).
// Each event's one notification goes to the alert topic (and the Slack webhook when configured, above its
// severity floor) exactly once per channel, in event order per endpoint, within a delivery budget well below
// the function's timeout (shared/alerts/notify.ts, the laptop's delivery path too), and the event itself to
// EventBridge and, when configured, Security Hub (docs/readme-outputs.md): the ledger in the table skips what
// a previous delivery of the same record sent.
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import type { AlertDeliverer } from "../shared/alerts/deliver.ts";
import { SnsDeliverer } from "../shared/alerts/deliver-sns.ts";
import { WebhookDeliverer } from "../shared/alerts/deliver-webhook.ts";
import { DynamoDeliveryLedger } from "../shared/alerts/ledger-dynamodb.ts";
import { deliverEventAlerts } from "../shared/alerts/notify.ts";
import { isSeverity, SeverityFloorDeliverer } from "../shared/alerts/route.ts";
import { ENV, NOTIFY_DELIVERY_BUDGET_MS } from "../shared/function-env.ts";
import { EventBridgePublisher } from "../shared/outputs/eventbridge.ts";
import { type EventPublisher, publishEvent } from "../shared/outputs/publish.ts";
import { SecurityHubPublisher } from "../shared/outputs/securityhub.ts";
import { DynamoAcknowledgements } from "../shared/store/dynamo-acks.ts";
import { emitAlertsSent } from "./commons/alert-metrics.ts";
import { documentClient, eventBridgeClient, securityHubClient, snsClient } from "./commons/clients.ts";
import { FunctionConfigError, optionalString, requiredString } from "./commons/config.ts";
import { emitFastPathLatency } from "./commons/fastpath-metrics.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";
import { secretFromExtension } from "./commons/secrets.ts";
import { eventFromStreamRecord } from "./commons/stream.ts";

const config = {
  tableName: requiredString(ENV.tableName),
  alertTopicArn: requiredString(ENV.alertTopicArn),
  slackWebhookSecretArn: optionalString(ENV.slackWebhookSecretArn),
  slackMinSeverity: optionalString(ENV.slackMinSeverity) ?? "info",
  eventBusName: requiredString(ENV.eventBusName),
  securityHubProductArn: optionalString(ENV.securityHubProductArn),
};
if (!isSeverity(config.slackMinSeverity)) {
  throw new FunctionConfigError(`environment variable ${ENV.slackMinSeverity} is not a severity`);
}
const slackFloor = config.slackMinSeverity;
// Read once at cold start: a missing or unreadable secret fails the init with the secret's name.
const slackWebhookUrl =
  config.slackWebhookSecretArn === undefined ? undefined : await secretFromExtension(config.slackWebhookSecretArn);

const deliverers: AlertDeliverer[] = [
  new SnsDeliverer({ client: snsClient, topicArn: config.alertTopicArn }),
  ...(slackWebhookUrl === undefined
    ? []
    : [new SeverityFloorDeliverer(new WebhookDeliverer({ url: slackWebhookUrl }), slackFloor)]),
];
const publishers: EventPublisher[] = [
  new EventBridgePublisher({ client: eventBridgeClient, eventBusName: config.eventBusName }),
  ...(config.securityHubProductArn === undefined ? [] : [securityHubPublisher(config.securityHubProductArn)]),
];

/** arn:aws:securityhub:<region>:<account>:product/<account>/default */
function securityHubPublisher(productArn: string): SecurityHubPublisher {
  const match = /^arn:aws[a-z-]*:securityhub:([a-z0-9-]+):(\d{12}):product\/\d{12}\/default$/.exec(productArn);
  if (!match)
    throw new FunctionConfigError(`environment variable ${ENV.securityHubProductArn} is not a default product ARN`);
  return new SecurityHubPublisher({ client: securityHubClient, region: match[1]!, accountId: match[2]! });
}
const ledger = new DynamoDeliveryLedger({ client: documentClient, tableName: config.tableName });
// An acknowledged endpoint's notifications are held back, not paged (shared/alerts/acknowledged.ts).
const acknowledgements = new DynamoAcknowledgements({ client: documentClient, tableName: config.tableName });
const processor = new BatchProcessor(EventType.DynamoDBStreams);

/** Deliveries of one invocation end this long before its timeout at the latest. */
const TIMEOUT_MARGIN_MS = 5_000;

/** Per invocation: when its deliveries must end, and the endpoints whose earlier event failed. */
let deadline = 0;
const heldEndpoints = new Set<string>();

async function notifyEvent(record: DynamoDBRecord): Promise<void> {
  const event = eventFromStreamRecord(record);
  if (event === null) {
    // The stack's filter passes only inserted events; anything else changes nothing and is not retried.
    logger.warn("stream record is not an inserted state-change event; ignored", {
      eventID: record.eventID,
      eventName: record.eventName,
    });
    return;
  }
  if (heldEndpoints.has(event.endpoint)) {
    // An earlier event of this endpoint failed in this batch: this one must not overtake it. The stream
    // hands both over again, in order (the checkpoint stops at the first failed record).
    throw new Error(`event ${event.eventId} held behind an earlier undelivered event of ${event.endpoint}`);
  }
  const [report, published] = await Promise.all([
    deliverEventAlerts([event], deliverers, ledger, {
      deadline,
      acknowledgements: await acknowledgements.list(event.endpoint),
    }),
    publishEvent(event, publishers, ledger),
  ]);
  emitAlertsSent(event, report);
  emitFastPathLatency(event, report.delivered.length);
  logger.info("event notified", {
    eventId: event.eventId,
    endpoint: event.endpoint,
    alerts: event.alerts,
    delivered: report.delivered.length,
    alreadyDelivered: report.alreadyDelivered.length,
    published: published.published,
  });
  if (published.failed.length > 0) {
    heldEndpoints.add(event.endpoint);
    throw new Error(
      `event ${event.eventId} not published: ${published.failed.map((f) => `${f.publisher}: ${f.error}`).join("; ")}`,
    );
  }
  if (report.failedEventIds.length > 0) {
    heldEndpoints.add(event.endpoint);
    // Reported as a batch item failure: the stream hands this record over again (then to the on-failure queue).
    throw new Error(`alerts of event ${event.eventId} not delivered: ${report.failed.map((f) => f.error).join("; ")}`);
  }
}

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .handler(async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    heldEndpoints.clear();
    const remaining = context.getRemainingTimeInMillis?.() ?? NOTIFY_DELIVERY_BUDGET_MS + TIMEOUT_MARGIN_MS;
    deadline = Date.now() + Math.max(0, Math.min(NOTIFY_DELIVERY_BUDGET_MS, remaining - TIMEOUT_MARGIN_MS));
    // In order: a resolution must not overtake the alert it resolves.
    return processPartialResponse(event, notifyEvent, processor, { context, processInParallel: false });
  });
