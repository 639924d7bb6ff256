// A fast-path probe (docs/fastpath.md): the targets of one scheduled message, probed and recorded by the
// same code as a scan shard (shared/scan/shards.ts probeAndRecord) under the message's own probe id, and
// never counted in a scan. Before probing, an address whose Elastic IP was released or disassociated since
// the message was scheduled is dropped (it may be someone else's by now). The endpoints' previous exposure
// comes from the store's one read for the batch (the digests of their buckets), never an index scan. What the probe shows about the path arms or disarms the endpoint for the
// one-minute armed tier (armed.ts).
import type { ProbeResult, StateChangeEvent, Target } from "../exposure/model.ts";
import { formatEndpoint } from "../exposure/model.ts";
import { checkedTargets, type ProbeShardOptions, probeAndRecord } from "../scan/shards.ts";
import { ARMED_TTL_SECONDS, type FastPathLedger } from "./ledger.ts";
import type { FastProbeMessage } from "./schedule.ts";

export class FastProbeMessageError extends Error {
  override name = "FastProbeMessageError";
}

export interface FastProbeOptions extends Omit<ProbeShardOptions, "store"> {
  store: ProbeShardOptions["store"];
  ledger: FastPathLedger;
}

export interface FastProbeOutcome {
  probed: number;
  /** Endpoints dropped because their address was released or disassociated. */
  stopped: string[];
  events: StateChangeEvent[];
  results: ProbeResult[];
}

/** Whether a result proves a path from the internet: an answer, or a refusal (RST); silence proves nothing. */
export function pathOpen(result: Pick<ProbeResult, "state" | "exposure">): boolean {
  return result.state === "closed" || result.exposure !== "none";
}

export async function probeFast(message: FastProbeMessage, options: FastProbeOptions): Promise<FastProbeOutcome> {
  const { ledger } = options;
  const since = new Date(message.scheduledAt);
  const live: Target[] = [];
  const stopped: string[] = [];
  for (const target of message.targets) {
    const keys = message.stopKeys[target.host] ?? [`ip:${target.host}`];
    if (await ledger.stoppedSince(keys, since)) stopped.push(formatEndpoint(target.host, target.port));
    else live.push(target);
  }
  const { results, events } = await probeAndRecord(live, { ...options, probeId: message.probeId });
  await updateArmed(ledger, live, results);
  return { probed: results.length, stopped, events, results };
}

/**
 * Keeps the armed set (armed.ts) current: an endpoint that refused (RST: the path is open, nothing listens)
 * is armed, one gone silent is disarmed. Exposed endpoints need no mark: the store's exposed-now index lists
 * them. `alreadyArmed` endpoints are written again only when `refresh` (their ttl), so a steady armed set
 * costs no write per minute.
 */
export async function updateArmed(
  ledger: FastPathLedger,
  targets: readonly Target[],
  results: readonly ProbeResult[],
  alreadyArmed: ReadonlySet<string> = new Set(),
  refresh = true,
) {
  const byEndpoint = new Map(targets.map((target) => [formatEndpoint(target.host, target.port), target]));
  await Promise.all(
    results.map(async (result) => {
      const endpoint = formatEndpoint(result.ip, result.port);
      const target = byEndpoint.get(endpoint) ?? { host: result.ip, port: result.port };
      if (result.state === "closed") {
        if (refresh || !alreadyArmed.has(endpoint)) await ledger.arm(target, ARMED_TTL_SECONDS);
      } else if (!pathOpen(result) && (refresh || alreadyArmed.has(endpoint))) {
        await ledger.disarm(endpoint);
      }
    }),
  );
}

/** Parses a scheduled message body; a malformed one is an error (to the dead-letter queue). */
export function parseFastProbeMessage(body: string): FastProbeMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new FastProbeMessageError("fast probe message is not JSON");
  }
  const message = value as Partial<FastProbeMessage> | null;
  if (
    typeof message?.probeId !== "string" ||
    !/^fast-\d+-[0-9a-f]+-\d+$/.test(message.probeId) ||
    typeof message.scheduledAt !== "string" ||
    Number.isNaN(Date.parse(message.scheduledAt)) ||
    !Array.isArray(message.targets) ||
    typeof message.stopKeys !== "object" ||
    message.stopKeys === null
  ) {
    throw new FastProbeMessageError("fast probe message lacks probeId, scheduledAt, targets or stopKeys");
  }
  return { ...(message as FastProbeMessage), targets: checkedTargets(message.targets) };
}
