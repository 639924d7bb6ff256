// Probe: one SQS message = one shard of a scan (batch size 1). Probes its targets from outside (this
// function is in no VPC), records each observation and counts the shard in the scan record
// (shared/scan/shards.ts probeShard); the call that counts the last shard emits the scan-completed metrics.
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { ENV, type EnvName } from "../shared/function-env.ts";
import { METRIC } from "../shared/metrics-names.ts";
import { AddressSet } from "../shared/net/ip.ts";
import { parseShardMessage, probeShard } from "../shared/scan/shards.ts";
import { DynamoExposureStore } from "../shared/store/dynamo-store.ts";
import { documentClient } from "./commons/clients.ts";
import { FunctionConfigError, list, positiveInteger, requiredString } from "./commons/config.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";
import { probeContext } from "./commons/probe-context.ts";
import { emitScanCompleted } from "./commons/scan-metrics.ts";

const config = {
  tableName: requiredString(ENV.tableName),
  // Bounds open sockets per execution environment (Lambda allows 1,024 descriptors; infra/sizing.ts).
  socketConcurrency: positiveInteger(ENV.probeSocketConcurrency),
  // Masters a replica may follow without a rogue-master finding, besides private addresses (optional).
  allowedMasters: addressSet(ENV.allowedMasters),
};

const store = new DynamoExposureStore({ client: documentClient, tableName: config.tableName });
const processor = new BatchProcessor(EventType.SQS);

async function probeRecord(record: SQSRecord): Promise<void> {
  const shard = parseShardMessage(record.body);
  logger.appendKeys({ scanId: shard.scanId, shardId: shard.shardId });
  const outcome = await probeShard(shard, {
    store,
    probe: { concurrency: config.socketConcurrency, probeOptions: { allowedMasters: config.allowedMasters } },
    context: probeContext,
  });
  metrics.addMetric(METRIC.probesCompleted, MetricUnit.Count, outcome.probes);
  if (outcome.completed) emitScanCompleted(outcome.scan);
  logger.info("shard probed", {
    skipped: outcome.skipped,
    targets: shard.targets.length,
    events: outcome.events.length,
    counted: outcome.counted,
    completed: outcome.completed,
    countsByState: outcome.countsByState,
    probeErrors: outcome.probeErrors,
  });
}

function addressSet(key: EnvName): AddressSet {
  try {
    return new AddressSet(list(key));
  } catch (error) {
    throw new FunctionConfigError(`environment variable ${key}: ${(error as Error).message}`);
  }
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .handler(
    async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
      processPartialResponse(event, probeRecord, processor, { context }),
  );
