// Probe: one SQS message = one shard of a scan; an invocation takes a batch of them (infra/sizing.ts
// PROBE_BATCH_SIZE), probes them at once with the sockets shared between them, from outside (this
// function is in no VPC), records each shard's observations and counts the shard in the scan record
// (shared/scan/shards.ts probeShard); the call that counts the last shard emits the scan-completed metrics.
// The same code runs a second time in the dual-stack scanner VPC for IPv6 shards, where a self-test
// connection over IPv6 comes first in every invocation (docs/readme-probe.md, "IPv6 in AWS").
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { ENV, type EnvName } from "../shared/function-env.ts";
import { AddressSet } from "../shared/net/ip.ts";
import { parseShardMessage, probeShard } from "../shared/scan/shards.ts";
import { DynamoExposureStore } from "../shared/store/dynamo-store.ts";
import { documentClient } from "./commons/clients.ts";
import { FunctionConfigError, list, optionalString, positiveInteger, requiredString } from "./commons/config.ts";
import { checkIpv6Path } from "./commons/ipv6-path.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";
import { probeContext } from "./commons/probe-context.ts";
import { emitScanCompleted } from "./commons/scan-metrics.ts";

const config = {
  tableName: requiredString(ENV.tableName),
  // Bounds open sockets per execution environment (Lambda allows 1,024 descriptors; infra/sizing.ts).
  socketConcurrency: positiveInteger(ENV.probeSocketConcurrency),
  // Masters a replica may follow without a rogue-master finding, besides private addresses (optional).
  allowedMasters: addressSet(ENV.allowedMasters),
  // The events' ttl (optional): the history is audit evidence, kept unless the deployer sets a retention.
  eventRetentionDays:
    optionalString(ENV.eventRetentionDays) === undefined ? undefined : positiveInteger(ENV.eventRetentionDays),
};

const store = new DynamoExposureStore({
  client: documentClient,
  tableName: config.tableName,
  ...(config.eventRetentionDays !== undefined ? { retentionDays: config.eventRetentionDays } : {}),
});
const processor = new BatchProcessor(EventType.SQS);

async function probeRecord(record: SQSRecord, sockets: number): Promise<void> {
  const shard = parseShardMessage(record.body);
  logger.appendKeys({ scanId: shard.scanId, shardId: shard.shardId });
  const outcome = await probeShard(shard, {
    store,
    probe: { concurrency: sockets, probeOptions: { allowedMasters: config.allowedMasters } },
    context: probeContext,
  });
  if (outcome.completed) emitScanCompleted(outcome.scan);
  // Debug: the function logs at WARN in the stack (docs/readme-deploy.md, "What it costs"); a line per shard
  // would be ingested 200 times a sweep.
  logger.debug("shard probed", {
    skipped: outcome.skipped,
    targets: shard.targets.length,
    probes: outcome.probes,
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
  .handler(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // Thrown: the whole batch fails and SQS delivers it again, then dead-letters it. Nothing is recorded.
    await checkIpv6Path();
    // The records of a batch run in parallel; together they keep at most socketConcurrency sockets open.
    return processPartialResponse(
      event,
      (record: SQSRecord) =>
        probeRecord(record, Math.max(1, Math.floor(config.socketConcurrency / Math.max(1, event.Records.length)))),
      processor,
      { context },
    );
  });
