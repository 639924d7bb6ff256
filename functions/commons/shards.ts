// The SQS message between enumerate and probe: one shard of one scan. Shard ids are deterministic
// ("3/200"), so a scan whose shards are sent twice (a retried enumerate) still counts each shard once
// in the scan record (ExposureStore.recordShard).
import type { Target } from "../../shared/exposure/model.ts";

export interface ShardMessage {
  scanId: string;
  shardId: string;
  targets: Target[];
}

export function shardMessages(scanId: string, targets: readonly Target[], shardSize: number): ShardMessage[] {
  const count = Math.ceil(targets.length / shardSize);
  return Array.from({ length: count }, (_, i) => ({
    scanId,
    shardId: `${i + 1}/${count}`,
    targets: targets.slice(i * shardSize, (i + 1) * shardSize),
  }));
}

/** A scan id per scheduled run: the scheduler's retries of one run (and enumerate's own) share it. */
export function scanIdForSchedule(scheduledTime: string): string {
  const time = new Date(scheduledTime);
  if (Number.isNaN(time.getTime())) throw new Error(`scheduledTime "${scheduledTime}" is not a time`);
  return `scan-${time
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}`;
}

export class ShardMessageError extends Error {
  override name = "ShardMessageError";
}

/** Parses and checks a message body; a malformed shard is an error (it goes to the DLQ, never silently dropped). */
export function parseShardMessage(body: string): ShardMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ShardMessageError("shard message is not JSON");
  }
  const message = value as Partial<ShardMessage> | null;
  if (typeof message?.scanId !== "string" || message.scanId === "")
    throw new ShardMessageError("shard message has no scanId");
  if (typeof message.shardId !== "string" || message.shardId === "")
    throw new ShardMessageError("shard message has no shardId");
  if (!Array.isArray(message.targets)) throw new ShardMessageError("shard message has no targets list");
  for (const target of message.targets) {
    const t = target as Partial<Target> | null;
    if (typeof t?.host !== "string" || !Number.isInteger(t.port) || (t.port ?? 0) < 1 || (t.port ?? 0) > 65_535) {
      throw new ShardMessageError(`shard message has a malformed target: ${JSON.stringify(target).slice(0, 200)}`);
    }
  }
  return { scanId: message.scanId, shardId: message.shardId, targets: message.targets as Target[] };
}
