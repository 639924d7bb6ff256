// Stall detection for the engine (docs/readme-probe.md, "Stalls of this process"): when this
// process's event loop stood still, so that a silence then proves nothing about the network.

/** Where the scheduler learns whether this process stalled (its event loop did not turn) over a time span. */
export interface StallClock {
  /** The longest stall that overlapped [fromMs, toMs] (performance.now() times), ms. */
  maxStallBetween(fromMs: number, toMs: number): number;
  /** How long, in all, the loop stood still within [fromMs, toMs], ms. */
  stalledMsBetween(fromMs: number, toMs: number): number;
  start(): void;
  stop(): void;
}

/** An attempt that ended silent: when it ran (performance.now() times) and its connect timeout. */
export interface Silence {
  from: number;
  to: number;
  timeoutMs: number;
}

/** A stall is only on record once the loop has turned again: wait this long after a silence. */
export const STALL_RECORD_DELAY_MS = 30;

/**
 * A silence is suspect when one stall covered this share of its timeout: an answer arriving a
 * round trip (at most a quarter of the timeout, which is 4 x the measured round trip) after the
 * SYN can only have gone unseen behind a stall of the rest of the timeout.
 */
export const STALL_SHARE_OF_TIMEOUT = 0.75;

/** Whether a silence overlapped a stall long enough to have hidden an answer. */
export function silenceDuringStall(stalls: StallClock, silence: Silence | undefined): boolean {
  return (
    silence !== undefined &&
    stalls.maxStallBetween(silence.from, silence.to) >= STALL_SHARE_OF_TIMEOUT * silence.timeoutMs
  );
}

/**
 * Watches this process's event loop with a 10 ms interval timer: a tick that comes late by S ms
 * means the loop did not turn for about S ms. A connect that completes during such a stall is only
 * seen when the loop turns again, and the connect timer, due by then, runs first (timers come before
 * I/O in a turn): an answering endpoint then looks silent. A silence that overlapped a stall of
 * three quarters of its timeout or more proves nothing: it is retried and not counted as packet loss.
 */
export class EventLoopStalls implements StallClock {
  readonly #stalls: Array<{ at: number; ms: number }> = [];
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #expected = 0;
  #longest = 0;
  /** Whether every stall recorded started after the one before it started. */
  #startsInOrder = true;

  constructor(intervalMs = 10) {
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#expected = performance.now() + this.#intervalMs;
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.record(now, now - this.#expected);
      this.#expected = now + this.#intervalMs;
    }, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** A stall of `ms` that ended at `at`. Short ones are not kept; nothing older than a minute is. */
  record(at: number, ms: number): void {
    if (ms < 5) return;
    this.#longest = Math.max(this.#longest, ms);
    const last = this.#stalls[this.#stalls.length - 1];
    if (last !== undefined && at - ms < last.at - last.ms) this.#startsInOrder = false;
    this.#stalls.push({ at, ms });
    while (this.#stalls.length > 0 && (this.#stalls[0]?.at ?? at) < at - 60_000) this.#stalls.shift();
  }

  maxStallBetween(fromMs: number, toMs: number): number {
    let max = 0;
    const stalls = this.#stalls;
    for (let i = this.#firstEndingAfter(fromMs); i < stalls.length; i++) {
      const stall = stalls[i] as { at: number; ms: number };
      if (this.#startsAfter(stall, toMs)) break;
      if (stall.at - stall.ms <= toMs) max = Math.max(max, stall.ms);
    }
    return max;
  }

  stalledMsBetween(fromMs: number, toMs: number): number {
    let total = 0;
    const stalls = this.#stalls;
    for (let i = this.#firstEndingAfter(fromMs); i < stalls.length; i++) {
      const stall = stalls[i] as { at: number; ms: number };
      if (this.#startsAfter(stall, toMs)) break;
      if (stall.at - stall.ms <= toMs) {
        total += Math.max(0, Math.min(stall.at, toMs) - Math.max(stall.at - stall.ms, fromMs));
      }
    }
    return total;
  }

  /** Stalls are kept in time order of their end: the first one ending at or after `fromMs` (binary search). */
  #firstEndingAfter(fromMs: number): number {
    let low = 0;
    let high = this.#stalls.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.#stalls[middle]?.at ?? 0) < fromMs) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * Whether no stall from this one on can start by `toMs`. The watch's stalls follow one another
   * (each starts a tick after the one before ended), so their starts are in order too and the first
   * start after `toMs` ends the search; for stalls recorded otherwise, the longest one bounds it.
   */
  #startsAfter(stall: { at: number; ms: number }, toMs: number): boolean {
    return this.#startsInOrder ? stall.at - stall.ms > toMs : stall.at - this.#longest > toMs;
  }
}
