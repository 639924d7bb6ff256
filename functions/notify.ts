// Notify: fed by the table's stream, filtered to inserted state-change events (infra/monitor-stack.ts).
// Each event's one notification goes to the alert topic (and the Slack webhook when configured, above its
// severity floor) exactly once per channel, in event order per endpoint, within a delivery budget well below
// the function's timeout (shared/alerts/notify.ts, the laptop's delivery path too); a channel that failed
// gets the whole alert through the retry queue (shared/alerts/retry-queue.ts, functions/notify-retry.ts),
// and so does a later alert of an endpoint still owed there; the event itself goes to
// EventBridge and, when configured, Security Hub (docs/readme-outputs.md): the ledger in the table skips what
// a previous delivery of the same record sent.
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { DynamoDeliveryLedger } from "../shared/alerts/ledger-dynamodb.ts";
import { DynamoOwedChannels, deliverOrQueue, SqsRetryQueue } from "../shared/alerts/retry-queue.ts";
import { ENV, NOTIFY_DELIVERY_BUDGET_MS } from "../shared/function-env.ts";
import { EventBridgePublisher } from "../shared/outputs/eventbridge.ts";
import { type EventPublisher, publishEvent } from "../shared/outputs/publish.ts";
import { SecurityHubPublisher } from "../shared/outputs/securityhub.ts";
import { DynamoAcknowledgements } from "../shared/store/dynamo-acks.ts";
import { alertChannels } from "./commons/alert-channels.ts";
import { emitAlertsSent } from "./commons/alert-metrics.ts";
import { documentClient, eventBridgeClient, securityHubClient, sqsClient } from "./commons/clients.ts";
import { FunctionConfigError, optionalString, requiredString } from "./commons/config.ts";
import { emitFastPathLatency } from "./commons/fastpath-metrics.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";
import { eventFromStreamRecord } from "./commons/stream.ts";

const config = {
  tableName: requiredString(ENV.tableName),
  alertRetryQueueUrl: requiredString(ENV.alertRetryQueueUrl),
  eventBusName: requiredString(ENV.eventBusName),
  securityHubProductArn: optionalString(ENV.securityHubProductArn),
};
const deliverers = await alertChannels();
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
const retry = {
  queue: new SqsRetryQueue({ client: sqsClient, queueUrl: config.alertRetryQueueUrl }),
  owed: new DynamoOwedChannels({ client: documentClient, tableName: config.tableName }),
};
const processor = new BatchProcessor(EventType.DynamoDBStreams);

/** Deliveries of one invocation end this long before its timeout at the latest. */
const TIMEOUT_MARGIN_MS = 5_000;

/** Per invocation: when its deliveries must end, and the endpoints whose earlier event was not published. */
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
    deliverOrQueue(event, deliverers, ledger, retry, {
      deadline,
      acknowledgements: await acknowledgements.list(event.endpoint),
    }),
    publishEvent(event, publishers, ledger),
  ]).catch((error: unknown) => {
    // The retry queue did not take the alert: the stream hands this record over again, and the endpoint's
    // later records wait behind it.
    heldEndpoints.add(event.endpoint);
    throw error;
  });
  emitAlertsSent(event, report);
  emitFastPathLatency(event, report.delivered.length);
  logger.info("event notified", {
    eventId: event.eventId,
    endpoint: event.endpoint,
    alerts: event.alerts,
    delivered: report.delivered.length,
    alreadyDelivered: report.alreadyDelivered.length,
    published: published.published,
    queued: report.queued?.channels ?? [],
  });
  if (published.failed.length > 0) {
    heldEndpoints.add(event.endpoint);
    throw new Error(
      `event ${event.eventId} not published: ${published.failed.map((f) => `${f.publisher}: ${f.error}`).join("; ")}`,
    );
  }
  if (report.queued !== null) {
    // The whole alert waits in the retry queue for the channels it lacks; the stream moves on.
    logger.warn("alert queued for retry", {
      eventId: event.eventId,
      alertId: report.queued.alert.id,
      channels: report.queued.channels,
      errors: report.failed.map((f) => `${f.deliverer}: ${f.error}`),
    });
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
