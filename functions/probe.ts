// Probe: one SQS message = one shard of a scan. Probes its targets from outside (this function is in no
// VPC), records each observation (shared/scan + shared/store), and counts the shard in the scan record;
// the call that counts the last shard closes the scan and emits the scan-completed metrics.
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { METRIC } from "../shared/metrics-names.ts";
import { probeAll } from "../shared/probe/batch.ts";
import { recordResults } from "../shared/scan/cycle.ts";
import { DynamoExposureStore } from "../shared/store/dynamo-store.ts";
import { documentClient } from "./commons/clients.ts";
import { positiveInteger, requiredString } from "./commons/config.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";
import { emitScanCompleted } from "./commons/scan-metrics.ts";
import { parseShardMessage } from "./commons/shards.ts";

const config = {
  tableName: requiredString("TABLE_NAME"),
  // Bounds open sockets per execution environment (Lambda allows 1,024 descriptors; infra/sizing.ts).
  socketConcurrency: positiveInteger("PROBE_SOCKET_CONCURRENCY"),
};

const store = new DynamoExposureStore({ client: documentClient, tableName: config.tableName });
const processor = new BatchProcessor(EventType.SQS);

async function probeShard(record: SQSRecord): Promise<void> {
  const shard = parseShardMessage(record.body);
  logger.appendKeys({ scanId: shard.scanId, shardId: shard.shardId });
  const outcome = await recordResults(store, probeAll(shard.targets, { concurrency: config.socketConcurrency }), {
    scanId: shard.scanId,
  });
  const { counted, completed, scan } = await store.recordShard({
    scanId: shard.scanId,
    shardId: shard.shardId,
    countsByState: outcome.countsByState,
  });
  if (counted) metrics.addMetric(METRIC.probesCompleted, MetricUnit.Count, shard.targets.length);
  if (completed) emitScanCompleted(scan);
  logger.info("shard probed", {
    targets: shard.targets.length,
    events: outcome.events.length,
    counted,
    completed,
    countsByState: outcome.countsByState,
  });
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .handler(
    async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
      processPartialResponse(event, probeShard, processor, { context }),
  );
