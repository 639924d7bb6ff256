// Probes many targets with a bounded number of sockets at once and yields results as they complete.
// Each probe holds one socket at a time (the TLS retry starts after the plaintext socket is closed),
// so `concurrency` bounds the open sockets.
import type { ProbeResult, Target } from "../exposure/model.ts";
import { type ProbeContext, type ProbeOptions, probeTarget } from "./probe.ts";

/**
 * AWS Lambda allows 1,024 file descriptors per execution environment; the runtime, the SDK's
 * keep-alive sockets and the log pipe need a few dozen, so 900 leaves room.
 */
export const DEFAULT_CONCURRENCY = 900;

export interface BatchOptions extends Partial<ProbeOptions> {
  concurrency?: number;
}

/** The single-target probe the runner uses; replaceable so a scheduler can wrap it. */
export type ProbeFunction = (
  target: Target,
  options: Partial<ProbeOptions>,
  context: ProbeContext,
) => Promise<ProbeResult>;

export async function* probeAll(
  targets: Iterable<Target>,
  options: BatchOptions = {},
  context: ProbeContext = {},
  probe: ProbeFunction = probeTarget,
): AsyncGenerator<ProbeResult> {
  const { concurrency = DEFAULT_CONCURRENCY, ...probeOptions } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError("concurrency must be a positive integer");
  const pending = targets[Symbol.iterator]();
  const completed: ProbeResult[] = [];
  let active = 0;
  let exhausted = false;
  let wake: (() => void) | undefined;

  const launch = () => {
    while (!exhausted && active < concurrency) {
      const next = pending.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      active++;
      probe(next.value, probeOptions, context)
        .then((result) => completed.push(result))
        .finally(() => {
          active--;
          launch();
          wake?.();
        });
    }
  };

  launch();
  while (active > 0 || completed.length > 0) {
    if (completed.length === 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    // Hand over everything finished so far; new probes keep running while the consumer works.
    const ready = completed.splice(0, completed.length);
    for (const result of ready) yield result;
  }
}
