// The shard queue on SQS: SendMessageBatch, ten messages (and at most 256 KiB of bodies) per call. A batch
// call succeeds as a whole even when single entries fail, so failed entries are sent again on their own
// (those SQS blames on the sender, e.g. too large, are not: they cannot succeed). No deduplication id: the
// queue is a standard one, and a shard that arrives twice is counted once by its shard id.
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from "@aws-sdk/client-sqs";
import { encodeShardMessage, type ShardMessage, type ShardQueue, SQS_MAX_MESSAGE_BYTES } from "./shards.ts";

/** SendMessageBatch takes at most ten entries. */
export const SQS_BATCH_ENTRIES = 10;

export interface SqsShardQueueOptions {
  client: SQSClient;
  queueUrl: string;
  /** Rounds of sending the entries still failing (default 5); the SDK retries whole calls on its own. */
  attempts?: number;
  /** Batch calls in flight at once (default 4). */
  concurrency?: number;
  /** Pause before round n (default 100 ms x 2^(n-1)). */
  backoffMs?: (round: number) => number;
}

export class ShardQueueError extends Error {
  override name = "ShardQueueError";
}

interface Entry {
  body: string;
  shardId: string;
}

export class SqsShardQueue implements ShardQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #attempts: number;
  readonly #concurrency: number;
  readonly #backoffMs: (round: number) => number;

  constructor(options: SqsShardQueueOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#attempts = options.attempts ?? 5;
    this.#concurrency = options.concurrency ?? 4;
    this.#backoffMs = options.backoffMs ?? ((round) => 100 * 2 ** (round - 1));
  }

  async send(messages: readonly ShardMessage[]): Promise<void> {
    let pending: Entry[] = messages.map((message) => ({ body: encodeShardMessage(message), shardId: message.shardId }));
    for (const entry of pending) {
      if (Buffer.byteLength(entry.body) > SQS_MAX_MESSAGE_BYTES) {
        throw new ShardQueueError(`shard ${entry.shardId} is larger than an SQS message`);
      }
    }
    let lastErrors: string[] = [];
    for (let round = 1; pending.length > 0; round++) {
      if (round > this.#attempts) {
        throw new ShardQueueError(
          `${pending.length} shard(s) not accepted by SQS after ${this.#attempts} rounds: ${lastErrors.slice(0, 3).join("; ")}`,
        );
      }
      if (round > 1) await new Promise((resolve) => setTimeout(resolve, this.#backoffMs(round - 1)));
      const batches = batchesOf(pending);
      const retry: Entry[] = [];
      lastErrors = [];
      for (let i = 0; i < batches.length; i += this.#concurrency) {
        await Promise.all(
          batches.slice(i, i + this.#concurrency).map(async (batch) => {
            const failed = await this.#sendBatch(batch);
            for (const { entry, error, senderFault } of failed) {
              if (senderFault) throw new ShardQueueError(`SQS refused shard ${entry.shardId}: ${error}`);
              retry.push(entry);
              lastErrors.push(`${entry.shardId}: ${error}`);
            }
          }),
        );
      }
      pending = retry;
    }
  }

  /** Returns the entries SQS did not accept. A call that fails as a whole fails all of its entries. */
  async #sendBatch(batch: Entry[]): Promise<{ entry: Entry; error: string; senderFault: boolean }[]> {
    const entries: SendMessageBatchRequestEntry[] = batch.map((entry, index) => ({
      Id: String(index),
      MessageBody: entry.body,
    }));
    try {
      const output = await this.#client.send(
        new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }),
      );
      const accepted = new Set((output.Successful ?? []).map((result) => result.Id));
      const failures = new Map((output.Failed ?? []).map((failure) => [failure.Id, failure]));
      return batch.flatMap((entry, index) => {
        const id = String(index);
        if (accepted.has(id)) return [];
        const failure = failures.get(id);
        return [
          {
            entry,
            error: failure ? `${failure.Code ?? "error"}: ${failure.Message ?? ""}`.trim() : "no result for this entry",
            senderFault: failure?.SenderFault === true,
          },
        ];
      });
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return batch.map((entry) => ({ entry, error: text.split("\n")[0] ?? text, senderFault: false }));
    }
  }
}

/** Groups of at most ten entries whose bodies add up to at most 256 KiB (SendMessageBatch's limits). */
export function batchesOf<T extends { body: string }>(entries: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.body);
    if (current.length === SQS_BATCH_ENTRIES || (current.length > 0 && bytes + size > SQS_MAX_MESSAGE_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
