// The bench's baseline (`npm run bench -- --engine fixed`): every target once with one fixed connect
// timeout, a bounded number of sockets at once, results yielded as they complete. The commands use
// the adaptive engine (shared/probe/adaptive.ts). Each probe holds one socket at a time (the TLS
// retry starts after the plaintext socket is closed), so `concurrency` bounds the open sockets.
import type { ProbeOutcome, Target } from "../shared/exposure/model.ts";
import { DEFAULT_SOCKETS, type ProbeFunction } from "../shared/probe/adaptive.ts";
import { type ProbeContext, type ProbeOptions, probeTarget } from "../shared/probe/probe.ts";

export interface BatchOptions extends Partial<ProbeOptions> {
  concurrency?: number;
}

export async function* probeAll(
  targets: Iterable<Target>,
  options: BatchOptions = {},
  context: ProbeContext = {},
  probe: ProbeFunction = probeTarget,
): AsyncGenerator<ProbeOutcome> {
  const { concurrency = DEFAULT_SOCKETS, ...probeOptions } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError("concurrency must be a positive integer");
  const pending = targets[Symbol.iterator]();
  const completed: ProbeOutcome[] = [];
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
