// Router: the central event bus -> SQS -> this function (docs/fastpath.md). Each message is one EventBridge
// event from a member account; it is read, resolved in its account through the member role (credentials
// cached across invocations) and its targets scheduled on the fast-probe queue at the re-probe delays
// (shared/fastpath/router.ts). An account or listing that cannot be read is logged and counted
// (FastPathUnreadable, alarmed), never dropped silently.
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { BusEvent } from "../shared/fastpath/catalog.ts";
import { DynamoFastPathLedger } from "../shared/fastpath/ledger-dynamodb.ts";
import { FastPathResolver } from "../shared/fastpath/resolve.ts";
import { FamilyProbeScheduler, routeEvents } from "../shared/fastpath/router.ts";
import { SqsProbeQueue } from "../shared/fastpath/sqs-probe-queue.ts";
import { ENV } from "../shared/function-env.ts";
import { createAwsClientFactory } from "../shared/inventory/index.ts";
import { FASTPATH_METRIC } from "../shared/metrics-names.ts";
import { documentClient, sqsClient } from "./commons/clients.ts";
import { optionalString, requiredString } from "./commons/config.ts";
import { inventoryConfig } from "./commons/inventory-config.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";

const config = {
  tableName: requiredString(ENV.tableName),
  fastProbeQueueUrl: requiredString(ENV.fastProbeQueueUrl),
  // IPv6 targets go to the fast-probe function in the scanner VPC (docs/fastpath.md, "IPv6 targets").
  fastProbeIpv6QueueUrl: optionalString(ENV.fastProbeIpv6QueueUrl),
  inventory: inventoryConfig(),
};

// Kept across invocations: assumed-role credentials are cached until shortly before they expire.
const clients = createAwsClientFactory({
  callTimeoutMs: 10_000,
  roleSessionName: "exposure-monitor-fastpath",
});
const resolver = new FastPathResolver(clients, { ...config.inventory, callTimeoutMs: 10_000 });
const ledger = new DynamoFastPathLedger({ client: documentClient, tableName: config.tableName });
const scheduler = new FamilyProbeScheduler(
  new SqsProbeQueue({ client: sqsClient, queueUrl: config.fastProbeQueueUrl }),
  config.fastProbeIpv6QueueUrl === undefined
    ? undefined
    : new SqsProbeQueue({ client: sqsClient, queueUrl: config.fastProbeIpv6QueueUrl }),
);
const processor = new BatchProcessor(EventType.SQS);

async function routeRecord(record: SQSRecord): Promise<void> {
  let event: BusEvent;
  try {
    event = JSON.parse(record.body) as BusEvent;
  } catch {
    // Not an event: nothing to route, and a retry would not change that.
    logger.warn("message is not JSON; ignored", { messageId: record.messageId });
    return;
  }
  const outcome = await routeEvents([event], { resolver, ledger, scheduler });
  for (const { eventId, reason } of outcome.irrelevant) logger.debug("event resolves to nothing", { eventId, reason });
  for (const eventId of outcome.duplicates) logger.info("event seen before; nothing scheduled", { eventId });
  for (const routed of outcome.routed) {
    metrics.addMetric(FASTPATH_METRIC.fastPathEvents, MetricUnit.Count, 1);
    metrics.addMetric(FASTPATH_METRIC.fastPathProbesScheduled, MetricUnit.Count, routed.probesScheduled);
    if (routed.gaps.length > 0) {
      metrics.addMetric(FASTPATH_METRIC.fastPathUnreadable, MetricUnit.Count, 1);
      logger.error("event's account or region could not be read: its addresses wait for the sweep", {
        eventId: routed.eventId,
        event: routed.name,
        accountId: routed.accountId,
        region: routed.region,
        gaps: routed.gaps,
      });
    }
    if (routed.detailErrors.length > 0) {
      logger.warn("event's owners or paths could not all be read: those verdicts are unknown", {
        eventId: routed.eventId,
        detailErrors: routed.detailErrors,
      });
    }
    logger.info("event routed", {
      eventId: routed.eventId,
      event: routed.name,
      accountId: routed.accountId,
      region: routed.region,
      targets: routed.targets.length,
      scheduledTargets: routed.scheduledTargets,
      probesScheduled: routed.probesScheduled,
      stopped: routed.stopped,
    });
  }
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .handler(
    async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
      processPartialResponse(event, routeRecord, processor, { context }),
  );
