// Enumerate: invoked by the scan schedule. Lists the organization's public addresses (shared/inventory),
// records the scan (shared/store) and queues its shards for the probe function.
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import { resolveInventoryConfig } from "../shared/inventory/config.ts";
import { type AccountSource, createAwsClientFactory, enumeratePublicTargets } from "../shared/inventory/index.ts";
import { METRIC } from "../shared/metrics-names.ts";
import { DynamoExposureStore } from "../shared/store/dynamo-store.ts";
import { documentClient, sqsClient } from "./commons/clients.ts";
import { list, positiveInteger, requiredString } from "./commons/config.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";
import { emitScanCompleted } from "./commons/scan-metrics.ts";
import { type ShardMessage, scanIdForSchedule, shardMessages } from "./commons/shards.ts";

const accounts = list("ACCOUNTS");
const config = {
  tableName: requiredString("TABLE_NAME"),
  shardQueueUrl: requiredString("SHARD_QUEUE_URL"),
  shardSize: positiveInteger("SHARD_SIZE"),
  // Throws InventoryConfigError naming the bad field (accounts, region, port, role name, external id).
  inventory: resolveInventoryConfig({
    accounts: accountSource(accounts),
    regions: list("REGIONS").length > 0 ? list("REGIONS") : null,
    ports: list("PROBE_PORTS").map(Number),
    roleName: requiredString("MEMBER_ROLE_NAME"),
    externalId: requiredString("EXTERNAL_ID"),
  }),
};
const SEND_CONCURRENCY = 10;

const store = new DynamoExposureStore({ client: documentClient, tableName: config.tableName });
const inventoryClients = createAwsClientFactory();

/** The scheduler's input (infra/monitor-stack.ts ScheduleTargetInput). */
export interface ScheduledScanEvent {
  scheduledTime?: string;
  executionId?: string;
}

export interface ScanQueued {
  scanId: string;
  targets: number;
  shards: number;
  gaps: number;
}

async function queueScan(event: ScheduledScanEvent): Promise<ScanQueued> {
  const scanId = scanIdForSchedule(event.scheduledTime ?? new Date().toISOString());
  logger.appendKeys({ scanId });
  const inventory = await enumeratePublicTargets(config.inventory, inventoryClients);
  const shards = shardMessages(scanId, inventory.targets, config.shardSize);
  const { created, scan } = await store.startScan({
    scanId,
    targets: inventory.targets.length,
    shards: shards.length,
    accountsRead: inventory.summary.accountsRead,
    regionsRead: inventory.summary.regionsRead,
    gaps: inventory.summary.gaps,
  });
  if (created) {
    metrics.addMetric(METRIC.targetsPerScan, MetricUnit.Count, scan.targets);
    metrics.addMetric(METRIC.shardsPerScan, MetricUnit.Count, scan.shards);
    metrics.addMetric(METRIC.coverageGaps, MetricUnit.Count, scan.gaps.length);
    // A scan with nothing to probe is complete at once (the store sets completedAt).
    if (scan.completedAt !== null) emitScanCompleted(scan);
  }
  if (scan.completedAt === null) {
    if (scan.shards === shards.length) {
      // Sent again on a retry: a shard delivered twice is counted once (deterministic shard ids).
      await sendShards(shards);
    } else {
      logger.error("a retried scan found a different number of shards; not resending", {
        recordedShards: scan.shards,
        shards: shards.length,
      });
    }
  }
  for (const gap of inventory.summary.gaps) logger.warn("coverage gap", { gap });
  logger.info("scan queued", { targets: scan.targets, shards: scan.shards, gaps: scan.gaps.length, created });
  return { scanId, targets: scan.targets, shards: scan.shards, gaps: scan.gaps.length };
}

async function sendShards(shards: readonly ShardMessage[]): Promise<void> {
  for (let i = 0; i < shards.length; i += SEND_CONCURRENCY) {
    await Promise.all(
      shards
        .slice(i, i + SEND_CONCURRENCY)
        .map((shard) =>
          sqsClient.send(
            new SendMessageCommand({ QueueUrl: config.shardQueueUrl, MessageBody: JSON.stringify(shard) }),
          ),
        ),
    );
  }
}

function accountSource(values: string[]): AccountSource {
  if (values.length === 0 || (values.length === 1 && values[0] === "organization")) return { kind: "organization" };
  if (values.length === 1 && values[0] === "current") return { kind: "current" };
  return { kind: "accounts", accountIds: values };
}

export const handler = middy<ScheduledScanEvent, ScanQueued>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .handler(async (event: ScheduledScanEvent): Promise<ScanQueued> => queueScan(event));
