// Notify-retry: fed by the alert retry queue (SQS FIFO, one group per endpoint; infra/constructs/alert-retry.ts).
// Each message holds a whole alert and the channels it still lacks; they get it through the same deliverers
// and ledger as the notify function (a channel already in the ledger is skipped), within a delivery budget.
// A message that fails comes back (visibility timeout), and its group's later messages wait behind it: the
// FIFO processor stops at the first failure of a group. After the queue's maxReceiveCount it moves to the
// dead-letter queue, which is alarmed (docs/readme-alerts.md, "Delivery guarantees").
import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { DynamoDeliveryLedger } from "../shared/alerts/ledger-dynamodb.ts";
import { DynamoOwedChannels, decodeRetryMessage, deliverQueued } from "../shared/alerts/retry-queue.ts";
import { ENV, NOTIFY_DELIVERY_BUDGET_MS } from "../shared/function-env.ts";
import { alertChannels } from "./commons/alert-channels.ts";
import { documentClient } from "./commons/clients.ts";
import { requiredString } from "./commons/config.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";

const tableName = requiredString(ENV.tableName);
const deliverers = await alertChannels();
const ledger = new DynamoDeliveryLedger({ client: documentClient, tableName });
const owed = new DynamoOwedChannels({ client: documentClient, tableName });
const processor = new SqsFifoPartialProcessorAsync();

/** Deliveries of one invocation end this long before its timeout at the latest. */
const TIMEOUT_MARGIN_MS = 5_000;
let deadline = 0;

async function retryAlert(record: SQSRecord): Promise<void> {
  const message = decodeRetryMessage(record.body);
  const report = await deliverQueued(message, deliverers, ledger, owed, { deadline });
  if (report.unknownChannels.length > 0) {
    logger.warn("queued alert names channels no longer configured; dropped", {
      alertId: message.alert.id,
      channels: report.unknownChannels,
    });
  }
  logger.info("queued alert retried", {
    alertId: message.alert.id,
    endpoint: message.alert.endpoint,
    delivered: report.delivered.length,
    alreadyDelivered: report.alreadyDelivered.length,
    receiveCount: record.attributes.ApproximateReceiveCount,
  });
  if (report.failed.length > 0) {
    throw new Error(
      `alert ${message.alert.id} still not delivered: ${report.failed.map((f) => `${f.deliverer}: ${f.error}`).join("; ")}`,
    );
  }
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .handler(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const remaining = context.getRemainingTimeInMillis?.() ?? NOTIFY_DELIVERY_BUDGET_MS + TIMEOUT_MARGIN_MS;
    deadline = Date.now() + Math.max(0, Math.min(NOTIFY_DELIVERY_BUDGET_MS, remaining - TIMEOUT_MARGIN_MS));
    // One message at a time; a failure fails the rest of its group (its later alerts stay behind it).
    return processPartialResponse(event, retryAlert, processor, { context, skipGroupOnError: true });
  });
