// An adaptive scheduler around the single-target probe. Most public addresses drop packets to
// 6379, so a fixed connect timeout spends nearly all of a scan waiting on silence. Instead, as nmap
// does, it measures round-trip times from the endpoints that answer, per network group (/24, /48),
// and gives a silent endpoint a timeout of a few round trips, clamped to a floor and a ceiling.
// Accuracy is kept by retries: every silent endpoint gets a fresh connection (a lost SYN or SYN-ACK
// is normal), further passes run while the loss seen so far says an answering endpoint could still
// be hiding among the silent ones, and an endpoint that was exposed at its last observation is
// confirmed at the long timeout before it may be called filtered.
import { type Exposure, exposureOf, type ProbeResult, type Target } from "../exposure/model.ts";
import type { ProbeFunction } from "./batch.ts";
import { type ProbeContext, type ProbeOptions, probeTarget } from "./probe.ts";

export interface AdaptiveOptions {
  /** Sockets open at once, at most (each probe holds one at a time). */
  concurrency: number;
  /** Shortest connect timeout for a silent endpoint, whatever the measured round trip. */
  floorMs: number;
  /** The long timeout: the first attempt before anything is measured, and confirmations. */
  ceilingMs: number;
  /** Timeout = max(multiplier x srtt, srtt + 4 x rttvar), clamped. */
  rttMultiplier: number;
  /** Each later attempt gets `attemptGrowth` times more than the first (lost SYN vs slow path). */
  attemptGrowth: number;
  /** Every silent endpoint is tried at least this often before it is called filtered. */
  minAttempts: number;
  maxAttempts: number;
  /** Stop retrying once fewer than this many answering endpoints are expected to hide among the silent ones. */
  missBudget: number;
  /** Probes launched before the first round trip is known (their timeout is the ceiling). */
  initialWindow: number;
  /** Network group of an address; round trips are estimated per group. */
  groupOf: (host: string) => string;
  /** Last recorded exposure of a target (from the store); not `none` means confirm at the ceiling before saying filtered. */
  previousExposure?: (target: Target) => Exposure | undefined;
  /** Passed to every probe; its connect timeout is set per attempt. */
  probeOptions: Partial<ProbeOptions>;
}

export const DEFAULT_ADAPTIVE_OPTIONS: AdaptiveOptions = {
  concurrency: 900,
  floorMs: 100,
  ceilingMs: 3_500,
  rttMultiplier: 4,
  attemptGrowth: 1.5,
  minAttempts: 2,
  maxAttempts: 5,
  missBudget: 0.01,
  initialWindow: 50,
  groupOf: networkGroup,
  probeOptions: {},
};

/** What the scheduler did, for benchmarks and logs. */
export interface AdaptiveStats {
  targets: number;
  attempts: number;
  /** Attempts per pass (pass 1 = first attempt of every target). */
  attemptsByPass: number[];
  /** Mean connect timeout given per pass, ms. */
  meanTimeoutByPass: number[];
  /** Endpoints that answered only on a later attempt. */
  recovered: number;
  confirmations: number;
  maxInFlight: number;
  /** Estimated chance that one attempt at an answering endpoint goes unanswered. */
  silenceRate: number;
}

export function emptyStats(): AdaptiveStats {
  return {
    targets: 0,
    attempts: 0,
    attemptsByPass: [],
    meanTimeoutByPass: [],
    recovered: 0,
    confirmations: 0,
    maxInFlight: 0,
    silenceRate: 0,
  };
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

/** Smoothed round trip and its variation (RFC 6298 weights), from samples in ms. */
export class RttEstimator {
  srtt: number | null = null;
  rttvar = 0;
  samples = 0;

  add(sampleMs: number): void {
    const sample = Math.max(0, sampleMs);
    this.samples++;
    if (this.srtt === null) {
      this.srtt = sample;
      this.rttvar = sample / 2;
      return;
    }
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - sample);
    this.srtt = 0.875 * this.srtt + 0.125 * sample;
  }

  /** The connect timeout this estimate supports, or null before any sample. */
  timeoutMs(options: Pick<AdaptiveOptions, "floorMs" | "ceilingMs" | "rttMultiplier">): number | null {
    if (this.srtt === null) return null;
    const raw = Math.max(options.rttMultiplier * this.srtt, this.srtt + 4 * this.rttvar);
    return Math.min(options.ceilingMs, Math.max(options.floorMs, Math.ceil(raw)));
  }
}

/**
 * A round-trip sample from a finished probe, or null when it gave none. A refused connection took
 * one round trip; any exchange with a server took at least two (handshake, then the commands).
 */
export function rttSampleOf(result: ProbeResult): number | null {
  if (result.state === "filtered") return null;
  if (result.state === "closed") return result.durationMs;
  return result.durationMs / 2;
}

/**
 * How many answering endpoints are expected to remain hidden among the silent ones after
 * `attempts` tries each, given the answering endpoints found so far and how often one attempt at
 * them went unanswered (with one imaginary miss, so a clean record still counts as uncertain).
 */
export function expectedHidden(answering: number, silentAttemptsOfAnswering: number, attempts: number): number {
  const rate = (silentAttemptsOfAnswering + 1) / (silentAttemptsOfAnswering + answering + 1);
  return Math.max(answering, 1) * rate ** attempts;
}

interface Job {
  target: Target;
  /** Attempts made so far. */
  attempts: number;
  /** Connect timeout of the next attempt, when fixed in advance (confirmation at the ceiling). */
  timeoutMs?: number;
  confirmed: boolean;
  lastResult?: ProbeResult;
}

/**
 * Probes every target and yields one final result per target as soon as it is known. At most
 * `concurrency` probes (sockets) run at once. Targets that stay silent come last.
 */
export async function* probeAdaptive(
  targets: Iterable<Target>,
  options: Partial<AdaptiveOptions> = {},
  context: ProbeContext = {},
  probe: ProbeFunction = probeTarget,
  stats: AdaptiveStats = emptyStats(),
): AsyncGenerator<ProbeResult> {
  const settings: AdaptiveOptions = { ...DEFAULT_ADAPTIVE_OPTIONS, ...options };
  const { concurrency } = settings;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError("concurrency must be a positive integer");
  if (settings.minAttempts < 1 || settings.maxAttempts < settings.minAttempts) throw new RangeError("need 1 <= minAttempts <= maxAttempts");

  const groups = new Map<string, RttEstimator>();
  const overall = new RttEstimator();
  const source = targets[Symbol.iterator]();
  let sourceDone = false;
  /** Retries that may start at once (attempt < minAttempts, or confirmations). */
  const ready: Job[] = [];
  /** Silent after `attempts` >= minAttempts: waiting for the pass to finish before deciding. */
  const undecided = new Map<number, Job[]>();
  /** Attempts started and not finished, per attempt number (pass). */
  const runningByPass = new Map<number, number>();
  const timeoutSums: number[] = [];
  const completed: ProbeResult[] = [];
  let active = 0;
  let answering = 0;
  let silentAttemptsOfAnswering = 0;
  let firstSampleAt: number | null = null;
  const startedAt = Date.now();
  let wake: (() => void) | undefined;
  let windowTimer: NodeJS.Timeout | undefined;

  const timeoutFor = (job: Job): number => {
    if (job.timeoutMs !== undefined) return job.timeoutMs;
    const group = groups.get(settings.groupOf(job.target.host));
    const base =
      (group && group.samples > 0 ? group.timeoutMs(settings) : null) ?? overall.timeoutMs(settings) ?? settings.ceilingMs;
    return Math.min(settings.ceilingMs, Math.ceil(base * settings.attemptGrowth ** job.attempts));
  };

  // Before any round trip is measured every timeout would be the ceiling: start a few probes, and
  // open the full window once one answers (or the ceiling passes without an answer).
  const windowOpen = () => firstSampleAt !== null || Date.now() - startedAt >= settings.ceilingMs;

  const nextJob = (): Job | undefined => {
    const retry = ready.shift();
    if (retry) return retry;
    if (sourceDone) return undefined;
    const next = source.next();
    if (next.done) {
      sourceDone = true;
      return undefined;
    }
    stats.targets++;
    return { target: next.value, attempts: 0, confirmed: false };
  };

  const finish = (job: Job, result: ProbeResult) => {
    completed.push(result);
    wake?.();
    void job;
  };

  const decidePass = (pass: number) => {
    // A pass is decided once none of its attempts run and no earlier pass can still add to it.
    for (const [attempts, jobs] of [...undecided].sort((a, b) => a[0] - b[0])) {
      if (attempts > pass) break;
      const stillRunning = [...runningByPass].some(([p, n]) => p <= attempts && n > 0);
      const earlierPending = [...undecided.keys()].some((p) => p < attempts) || ready.some((job) => job.attempts < attempts);
      if (stillRunning || earlierPending || (!sourceDone && attempts === 1)) return;
      undecided.delete(attempts);
      const hidden = expectedHidden(answering, silentAttemptsOfAnswering, attempts);
      stats.silenceRate = (silentAttemptsOfAnswering + 1) / (silentAttemptsOfAnswering + answering + 1);
      for (const job of jobs) {
        if (attempts < settings.maxAttempts && hidden >= settings.missBudget) ready.push(job);
        else if (needsConfirmation(job)) {
          job.confirmed = true;
          job.timeoutMs = settings.ceilingMs;
          stats.confirmations++;
          ready.push(job);
        } else finish(job, job.lastResult as ProbeResult);
      }
    }
  };

  const needsConfirmation = (job: Job): boolean => {
    if (job.confirmed || !settings.previousExposure) return false;
    const previous = settings.previousExposure(job.target);
    return previous !== undefined && previous !== "none";
  };

  const onResult = (job: Job, timeoutMs: number, result: ProbeResult) => {
    job.attempts++;
    job.lastResult = result;
    const sample = rttSampleOf(result);
    if (sample !== null) {
      firstSampleAt ??= Date.now();
      const key = settings.groupOf(job.target.host);
      let group = groups.get(key);
      if (!group) {
        group = new RttEstimator();
        groups.set(key, group);
      }
      group.add(sample);
      overall.add(sample);
      answering++;
      silentAttemptsOfAnswering += job.attempts - 1;
      if (job.attempts > 1) stats.recovered++;
      finish(job, result);
      return;
    }
    void timeoutMs;
    if (job.confirmed || job.attempts >= settings.maxAttempts) {
      if (needsConfirmation(job)) {
        job.confirmed = true;
        job.timeoutMs = settings.ceilingMs;
        stats.confirmations++;
        ready.push(job);
      } else finish(job, result);
    } else if (job.attempts < settings.minAttempts) {
      ready.push(job);
    } else {
      const list = undecided.get(job.attempts) ?? [];
      list.push(job);
      undecided.set(job.attempts, list);
    }
  };

  const launch = () => {
    for (;;) {
      const limit = windowOpen() ? concurrency : Math.min(concurrency, settings.initialWindow);
      if (active >= limit) break;
      const job = nextJob();
      if (!job) break;
      const pass = job.attempts + 1;
      const timeoutMs = timeoutFor(job);
      stats.attempts++;
      stats.attemptsByPass[pass - 1] = (stats.attemptsByPass[pass - 1] ?? 0) + 1;
      timeoutSums[pass - 1] = (timeoutSums[pass - 1] ?? 0) + timeoutMs;
      runningByPass.set(pass, (runningByPass.get(pass) ?? 0) + 1);
      active++;
      stats.maxInFlight = Math.max(stats.maxInFlight, active);
      probe(job.target, { ...settings.probeOptions, connectTimeoutMs: timeoutMs }, context)
        .then(
          (result) => onResult(job, timeoutMs, result),
          (error: unknown) => {
            // A probe never throws by contract; if one does, the target must still be reported.
            job.attempts = settings.maxAttempts;
            job.confirmed = true;
            finish(job, failedResult(job.target, error));
          },
        )
        .finally(() => {
          active--;
          runningByPass.set(pass, (runningByPass.get(pass) ?? 1) - 1);
          decidePass(pass);
          launch();
          wake?.();
        });
    }
    if (!windowOpen() && windowTimer === undefined) {
      windowTimer = setTimeout(() => {
        launch();
        wake?.();
      }, settings.ceilingMs);
    }
  };

  try {
    launch();
    for (;;) {
      if (completed.length === 0) {
        if (active === 0 && ready.length === 0 && undecided.size === 0 && sourceDone) break;
        if (active === 0) {
          // Nothing runs: decide what waits, start what is ready.
          decidePass(Number.POSITIVE_INFINITY);
          launch();
          if (active === 0 && completed.length === 0 && ready.length === 0 && undecided.size === 0 && sourceDone) break;
          if (completed.length === 0 && active === 0) continue;
        }
        if (completed.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      }
      const batch = completed.splice(0, completed.length);
      for (const result of batch) yield result;
    }
  } finally {
    if (windowTimer) clearTimeout(windowTimer);
    stats.meanTimeoutByPass = timeoutSums.map((sum, index) => Math.round(sum / Math.max(1, stats.attemptsByPass[index] ?? 1)));
  }
}

function failedResult(target: Target, error: unknown): ProbeResult {
  const result: ProbeResult = {
    target: `${target.host}:${target.port}`,
    ip: target.host,
    port: target.port,
    state: "error",
    exposure: exposureOf("error"),
    tls: false,
    server: null,
    findings: [],
    reply: `(probe failed: ${error instanceof Error ? error.message : String(error)})`.slice(0, 200),
    durationMs: 0,
    observedAt: new Date().toISOString(),
  };
  if (target.asset) result.asset = target.asset;
  return result;
}
