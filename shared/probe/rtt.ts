// Round-trip estimation for the engine (docs/readme-probe.md, "The engine"): samples per network
// group and overall, and the connect timeout they give a silent endpoint.
import type { ProbeResult } from "../exposure/model.ts";

/** How round trips become connect timeouts. */
export interface TimeoutRule {
  /** Shortest connect timeout for a silent endpoint, whatever the measured round trip. */
  floorMs: number;
  /** The long timeout: no attempt waits longer. */
  ceilingMs: number;
  /** Timeout = multiplier x the group's round trip, clamped. */
  rttMultiplier: number;
}

/** /24 for IPv4, /48 for IPv6, the name itself for anything else. */
export function networkGroup(host: string): string {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return host.slice(0, host.lastIndexOf("."));
  if (host.includes(":")) {
    const head = host.split("::")[0] ?? "";
    return `${head.split(":").slice(0, 3).join(":")}::/48`;
  }
  return host;
}

export function clampTimeout(ms: number, options: Pick<TimeoutRule, "floorMs" | "ceilingMs">): number {
  return Math.min(options.ceilingMs, Math.max(options.floorMs, Math.ceil(ms)));
}

/**
 * Round-trip samples of one network group (or of all). A sample is an upper bound of the path's
 * round trip (server think time only adds to it), so the group's timeout follows its smallest
 * sample; the estimate for groups not yet measured follows a low percentile of recent samples, so a
 * few slow servers (or a moment when this process had no CPU) do not stretch every timeout.
 */
export class RttSamples {
  min = Number.POSITIVE_INFINITY;
  count = 0;
  readonly #recent: number[] = [];
  readonly #keep: number;
  #sorted: number[] | null = null;
  /** `count` when #sorted was made. */
  #sortedAt = 0;

  constructor(keep = 256) {
    this.#keep = keep;
  }

  add(sampleMs: number): void {
    const sample = Math.max(0, sampleMs);
    this.count++;
    this.min = Math.min(this.min, sample);
    this.#recent.push(sample);
    if (this.#recent.length > this.#keep) this.#recent.shift();
  }

  percentile(p: number): number | null {
    if (this.#recent.length === 0) return null;
    // Re-sorted after 16 new samples (after each while there are fewer): timeouts are asked for far
    // more often than samples change, and between samples not at all.
    const fresh = this.count - this.#sortedAt;
    if (this.#sorted === null || fresh >= 16 || (fresh > 0 && this.#sorted.length < 16)) {
      this.#sorted = [...this.#recent].sort((a, b) => a - b);
      this.#sortedAt = this.count;
    }
    const sorted = this.#sorted;
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  }

  /** Connect timeout from this group's own round trip, or null before any sample. */
  groupTimeoutMs(options: TimeoutRule): number | null {
    return this.count === 0 ? null : clampTimeout(options.rttMultiplier * this.min, options);
  }

  /** Connect timeout for a group with no sample of its own, from everyone's, or null before any. */
  overallTimeoutMs(options: TimeoutRule & { overallPercentile?: number }): number | null {
    const sample = this.percentile(options.overallPercentile ?? 0.25);
    return sample === null ? null : clampTimeout(options.rttMultiplier * sample, options);
  }
}

/**
 * A round-trip sample from a finished probe, or null when it gave none. A refused connection took
 * one round trip; an exchange with a server at least three (handshake, then two rounds of commands).
 */
export function rttSampleOf(result: ProbeResult, stalledMs = 0): number | null {
  if (result.state === "filtered") return null;
  // Time this process spent stalled is not the network's: the answer only waited for us.
  const waited = Math.max(0, result.durationMs - stalledMs);
  if (result.state === "closed") return waited;
  return waited / 3;
}

export interface RoundTripOptions extends TimeoutRule {
  /** Timeout of the first probes, before any round trip is measured. */
  initialTimeoutMs: number;
  /** Each later attempt gets `attemptGrowth` times more than the first (lost SYN vs slow path). */
  attemptGrowth: number;
  /** Percentile of all samples that sets the timeout of groups not yet measured. */
  overallPercentile: number;
  /** Network group of an address; round trips are estimated per group. */
  groupOf: (host: string) => string;
}

/** The round trips measured so far, per group and overall, and the connect timeouts they give. */
export class RoundTrips {
  readonly #groups = new Map<string, RttSamples>();
  readonly #overall = new RttSamples();
  readonly #options: RoundTripOptions;

  constructor(options: RoundTripOptions) {
    this.#options = options;
  }

  /** Whether any round trip is known yet. */
  get measured(): boolean {
    return this.#overall.count > 0;
  }

  add(host: string, sampleMs: number): void {
    const key = this.#options.groupOf(host);
    let group = this.#groups.get(key);
    if (!group) {
      group = new RttSamples(1);
      this.#groups.set(key, group);
    }
    group.add(sampleMs);
    this.#overall.add(sampleMs);
  }

  /** Connect timeout for the next attempt at `host`, after `attempts` earlier ones. */
  timeoutMs(host: string, attempts: number): number {
    const options = this.#options;
    const group = this.#groups.get(options.groupOf(host));
    const base = group?.groupTimeoutMs(options) ?? this.#overall.overallTimeoutMs(options) ?? options.initialTimeoutMs;
    return Math.min(options.ceilingMs, Math.ceil(base * options.attemptGrowth ** attempts));
  }
}
