// The fast path's small bookkeeping (docs/fastpath.md): claims that make a replayed event or a burst of
// events on one endpoint schedule probes once, tombstones that stop the probes of an address released or
// disassociated, and the armed set (endpoints whose path from the internet is known open). In AWS it lives
// in the monitor's table (ledger-dynamodb.ts); `exposure react` and the benchmark keep it in memory.
import { formatEndpoint, type Target } from "../exposure/model.ts";

export interface FastPathLedger {
  /** True when this call took the key (no live claim existed); a claim lives `ttlSeconds`. */
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  /** Gives a claim back (its work failed and will be retried). */
  release(key: string): Promise<void>;
  /** Marks the keys stopped at `at` for `ttlSeconds`. */
  stop(keys: readonly string[], at: Date, ttlSeconds: number): Promise<void>;
  /** True when one of the keys was stopped at or after `since`. */
  stoppedSince(keys: readonly string[], since: Date): Promise<boolean>;
  /** Adds (or refreshes) an endpoint in the armed set for `ttlSeconds`. */
  arm(target: Target, ttlSeconds: number): Promise<void>;
  disarm(endpoint: string): Promise<void>;
  /** Every armed endpoint's target. */
  armed(): Promise<Target[]>;
}

/** Tombstones outlive the longest re-probe delay (10 minutes) with a margin. */
export const TOMBSTONE_TTL_SECONDS = 3_600;
/** An armed endpoint not confirmed open for this long leaves the set (the sweep re-arms it). */
export const ARMED_TTL_SECONDS = 86_400;

export class MemoryFastPathLedger implements FastPathLedger {
  readonly #claims = new Map<string, number>();
  readonly #stops = new Map<string, { at: number; until: number }>();
  readonly #armed = new Map<string, { target: Target; until: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    const now = this.#now();
    const until = this.#claims.get(key);
    if (until !== undefined && until > now) return false;
    this.#claims.set(key, now + ttlSeconds * 1000);
    return true;
  }

  async release(key: string): Promise<void> {
    this.#claims.delete(key);
  }

  async stop(keys: readonly string[], at: Date, ttlSeconds: number): Promise<void> {
    for (const key of keys) this.#stops.set(key, { at: at.getTime(), until: this.#now() + ttlSeconds * 1000 });
  }

  async stoppedSince(keys: readonly string[], since: Date): Promise<boolean> {
    const now = this.#now();
    return keys.some((key) => {
      const stop = this.#stops.get(key);
      return stop !== undefined && stop.until > now && stop.at >= since.getTime();
    });
  }

  async arm(target: Target, ttlSeconds: number): Promise<void> {
    const key = formatEndpoint(target.host, target.port);
    this.#armed.set(key, { target, until: this.#now() + ttlSeconds * 1000 });
  }

  async disarm(endpoint: string): Promise<void> {
    this.#armed.delete(endpoint);
  }

  async armed(): Promise<Target[]> {
    const now = this.#now();
    return [...this.#armed.values()].filter((entry) => entry.until > now).map((entry) => entry.target);
  }
}
