// Fast probe: one SQS message = one scheduled probe of an event's targets (shared/fastpath/fast-probe.ts):
// the same probe and record code as a scan shard, under the message's own probe id, never counted in a
// scan. Delivered by SQS after the message's delay (the re-probe schedule, docs/fastpath.md). IPv6 targets
// come on a queue of their own to the same code in the dual-stack scanner VPC (docs/fastpath.md, "IPv6 targets").
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { parseFastProbeMessage, probeFast } from "../shared/fastpath/fast-probe.ts";
import { DynamoFastPathLedger } from "../shared/fastpath/ledger-dynamodb.ts";
import { ENV } from "../shared/function-env.ts";
import { METRIC } from "../shared/metrics-names.ts";
import { DynamoExposureStore } from "../shared/store/dynamo-store.ts";
import { allowedMasters } from "./commons/allowed-masters.ts";
import { documentClient } from "./commons/clients.ts";
import { positiveInteger, requiredString } from "./commons/config.ts";
import { checkIpv6Path } from "./commons/ipv6-path.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";
import { probeContext } from "./commons/probe-context.ts";

const config = {
  tableName: requiredString(ENV.tableName),
  socketConcurrency: positiveInteger(ENV.probeSocketConcurrency),
  allowedMasters: allowedMasters(),
};

const store = new DynamoExposureStore({ client: documentClient, tableName: config.tableName });
const ledger = new DynamoFastPathLedger({ client: documentClient, tableName: config.tableName });
const processor = new BatchProcessor(EventType.SQS);

async function probeRecord(record: SQSRecord): Promise<void> {
  const message = parseFastProbeMessage(record.body);
  const outcome = await probeFast(message, {
    store,
    ledger,
    probe: { concurrency: config.socketConcurrency, probeOptions: { allowedMasters: config.allowedMasters } },
    context: probeContext,
  });
  metrics.addMetric(METRIC.probesCompleted, MetricUnit.Count, outcome.probed);
  logger.info("fast probe done", {
    probeId: message.probeId,
    eventId: message.eventId,
    event: message.eventName,
    probed: outcome.probed,
    stopped: outcome.stopped,
    events: outcome.events.length,
  });
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .handler(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // The twin in the scanner VPC proves its IPv6 path first; thrown, the batch is delivered again.
    await checkIpv6Path();
    return processPartialResponse(event, probeRecord, processor, { context });
  });
