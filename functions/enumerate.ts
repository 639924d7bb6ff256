// Enumerate: invoked by the scan schedule. Lists the organization's public addresses, records the scan and
// queues its shards for the probe function (shared/scan/shards.ts startScanCycle). On the same schedule it
// records the event of each acknowledgement that expired with its endpoint still exposed, which the table's
// stream hands to notify (shared/alerts/ack-expiry.ts, docs/readme-acknowledgements.md).
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import { recordExpiryEvents } from "../shared/alerts/ack-expiry.ts";
import { gapCount } from "../shared/exposure/gaps.ts";
import { ENV } from "../shared/function-env.ts";
import { createAwsClientFactory, enumeratePublicTargets } from "../shared/inventory/index.ts";
import { METRIC } from "../shared/metrics-names.ts";
import { FamilyShardQueue, scanIdForSchedule, startScanCycle } from "../shared/scan/shards.ts";
import { SqsShardQueue } from "../shared/scan/sqs-shard-queue.ts";
import { DynamoAcknowledgements } from "../shared/store/dynamo-acks.ts";
import { DynamoExposureStore } from "../shared/store/dynamo-store.ts";
import { documentClient, sqsClient } from "./commons/clients.ts";
import { optionalString, positiveInteger, requiredString } from "./commons/config.ts";
import { inventoryConfig } from "./commons/inventory-config.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";
import { emitScanCompleted } from "./commons/scan-metrics.ts";

const config = {
  tableName: requiredString(ENV.tableName),
  shardQueueUrl: requiredString(ENV.shardQueueUrl),
  // IPv6 shards go to the probe function in the dual-stack scanner VPC when it is deployed.
  ipv6ShardQueueUrl: optionalString(ENV.ipv6ShardQueueUrl),
  shardSize: positiveInteger(ENV.shardSize),
  inventory: inventoryConfig(),
  // The scan records' ttl (docs/readme-store.md, "Scan records"); unset keeps them.
  scanRetentionDays:
    optionalString(ENV.scanRetentionDays) === undefined ? undefined : positiveInteger(ENV.scanRetentionDays),
  // The ttl of the expiry events it records, the same as the probe's events.
  eventRetentionDays:
    optionalString(ENV.eventRetentionDays) === undefined ? undefined : positiveInteger(ENV.eventRetentionDays),
};

const store = new DynamoExposureStore({
  client: documentClient,
  tableName: config.tableName,
  ...(config.scanRetentionDays !== undefined ? { scanRetentionDays: config.scanRetentionDays } : {}),
});
const acknowledgements = new DynamoAcknowledgements({
  client: documentClient,
  tableName: config.tableName,
  ...(config.eventRetentionDays !== undefined ? { retentionDays: config.eventRetentionDays } : {}),
});
const queue = new FamilyShardQueue(
  new SqsShardQueue({ client: sqsClient, queueUrl: config.shardQueueUrl }),
  config.ipv6ShardQueueUrl === undefined
    ? undefined
    : new SqsShardQueue({ client: sqsClient, queueUrl: config.ipv6ShardQueueUrl }),
);
// Kept across invocations: assumed-role credentials are cached until shortly before they expire.
const inventoryClients = createAwsClientFactory({ callTimeoutMs: config.inventory.callTimeoutMs });

/** The scheduler's input (infra/monitor-stack.ts ScheduleTargetInput). */
export interface ScheduledScanEvent {
  scheduledTime?: string;
  executionId?: string;
}

export interface ScanQueued {
  scanId: string;
  status: string;
  targets: number;
  shards: number;
  gaps: number;
  /** Expired acknowledgements of still-exposed endpoints whose event this run recorded. */
  expiryEvents: number;
}

async function queueScan(event: ScheduledScanEvent): Promise<ScanQueued> {
  // A manual invocation without a scheduled time gets a scan of its own.
  const scanId = scanIdForSchedule(event.scheduledTime ?? new Date().toISOString());
  logger.appendKeys({ scanId, executionId: event.executionId });
  const started = await startScanCycle({
    scanId,
    readInventory: () => enumeratePublicTargets(config.inventory, inventoryClients),
    store,
    queue,
    shardLimits: { maxTargets: config.shardSize },
  });
  const { scan } = started;
  if (started.status !== "already-complete") {
    metrics.addMetric(METRIC.coverageGaps, MetricUnit.Count, gapCount(scan.gaps));
  }
  if (started.completed) emitScanCompleted(scan);
  // The record keeps gaps summarised by source and error class; the details are logged once, here.
  if (started.status === "started" || started.status === "restarted") {
    for (const gap of started.gaps) logger.warn("coverage gap", { gap });
  }
  if (started.status === "restarted") {
    logger.warn("the retried scan's inventory changed; a new scan replaces it", { replaced: started.replacedScanId });
  }
  logger.info("scan queued", { status: started.status, targets: scan.targets, shards: started.shardsQueued });
  return {
    scanId: scan.scanId,
    status: started.status,
    targets: scan.targets,
    shards: scan.shards,
    gaps: gapCount(scan.gaps),
    expiryEvents: await recordExpiries(),
  };
}

/** A failure here leaves the scan queued; the next scheduled run finds the same expiries again. */
async function recordExpiries(): Promise<number> {
  try {
    const { recorded, notExposed } = await recordExpiryEvents({ store, recorder: acknowledgements, now: new Date() });
    if (recorded.length + notExposed > 0) {
      logger.info("acknowledgements expired", { recorded: recorded.map((event) => event.endpoint), notExposed });
    }
    return recorded.length;
  } catch (error) {
    logger.error("acknowledgement expiries not recorded (retried by the next run)", { error });
    return 0;
  }
}

export const handler = middy<ScheduledScanEvent, ScanQueued>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .handler(async (event: ScheduledScanEvent): Promise<ScanQueued> => queueScan(event));
