// Scheduled fast-path probes on SQS: one message per probe, each with its own DelaySeconds (0-900), sent
// ten at a time; an entry SQS refuses is sent again, and after the retries the call fails (the router's
// message is then retried, and its event claim given back).
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from "@aws-sdk/client-sqs";
import type { ProbeScheduler } from "./router.ts";
import { MAX_DELAY_SECONDS, type PlannedProbe } from "./schedule.ts";

export class SqsProbeQueue implements ProbeScheduler {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(options: { client: SQSClient; queueUrl: string }) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
  }

  async schedule(probes: readonly PlannedProbe[]): Promise<void> {
    for (let i = 0; i < probes.length; i += 10) {
      let entries: SendMessageBatchRequestEntry[] = probes.slice(i, i + 10).map((probe, index) => ({
        Id: String(index),
        DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.round(probe.delaySeconds))),
        MessageBody: JSON.stringify(probe.message).replace(
          /[\ufffe\uffff]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16)}`,
        ),
      }));
      for (let attempt = 0; entries.length > 0; attempt++) {
        if (attempt > 3) throw new Error(`${entries.length} scheduled probes not accepted by SQS`);
        const output = await this.#client.send(
          new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }),
        );
        const failed = new Set((output.Failed ?? []).map((entry) => entry.Id));
        entries = entries.filter((entry) => failed.has(entry.Id));
      }
    }
  }
}
