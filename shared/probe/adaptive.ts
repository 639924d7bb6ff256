// An adaptive scheduler around the single-target probe. Most public addresses drop packets to
// 6379, so a fixed connect timeout spends nearly all of a scan waiting on silence. Instead, as nmap
// does, it measures round-trip times from the endpoints that answer, per network group (/24, /48),
// and gives a silent endpoint a timeout of a few round trips, clamped to a floor and a ceiling.
// Accuracy is kept by retries: every silent endpoint gets a fresh connection (a lost SYN or SYN-ACK
// is normal), further passes run while the loss seen so far says an answering endpoint could still
// be hiding among the silent ones, and an endpoint that was exposed at its last observation is
// confirmed at the long timeout before it may be called filtered. A silence behind a stall of this
// process proves nothing and is retried; a `dropped` verdict (accepted, no byte) gets a second look.
import { type Exposure, exposureOf, type ProbeResult, type Target } from "../exposure/model.ts";
import { type ProbeContext, type ProbeOptions, probeTarget } from "./probe.ts";

/** The single-target probe the scheduler runs; replaceable so a test can stand in a network. */
export type ProbeFunction = (
  target: Target,
  options: Partial<ProbeOptions>,
  context: ProbeContext,
) => Promise<ProbeResult>;

/**
 * Sockets open at once by default, for every command and the probe function alike. AWS Lambda
 * allows 1,024 file descriptors per execution environment, and the process needs some of its own:
 * the runtime and Node's event loop (stdio, epoll, the runtime API connection, the X-Ray socket,
 * about 30), the AWS SDK's keep-alive pool (at most 50 sockets per client) and the resolver. A probe
 * holds one socket at a time (the TLS retry opens after the plaintext socket closed), so 900 probes
 * leave more than 120 descriptors for the rest.
 */
export const DEFAULT_SOCKETS = 900;

export interface AdaptiveOptions {
  /** Sockets open at once, at most (each probe holds one at a time). */
  concurrency: number;
  /** Shortest connect timeout for a silent endpoint, whatever the measured round trip. */
  floorMs: number;
  /** The long timeout: no attempt waits longer; confirmations of formerly exposed endpoints use it. */
  ceilingMs: number;
  /** Timeout = multiplier x the group's round trip, clamped. */
  rttMultiplier: number;
  /** Timeout of the first few probes, before any round trip is measured (nmap's initial RTT timeout). */
  initialTimeoutMs: number;
  /** Each later attempt gets `attemptGrowth` times more than the first (lost SYN vs slow path). */
  attemptGrowth: number;
  /** Every silent endpoint is tried at least this often before it is called filtered. */
  minAttempts: number;
  maxAttempts: number;
  /** Stop retrying once fewer than this many answering endpoints are expected to hide among the silent ones. */
  missBudget: number;
  /** Probes launched before the first round trip is known (their timeout is `initialTimeoutMs`). */
  initialWindow: number;
  /**
   * Percentile of all round-trip samples that sets the timeout of groups not yet measured. Low,
   * because a sample also holds the time the answer waited for this process (a busy event loop,
   * no CPU), not only the network's round trip; a group's own fastest answer replaces it.
   */
  overallPercentile: number;
  /**
   * Probes started in one go before the event loop gets a turn: a thousand connects in one tick
   * would hold the loop for hundreds of ms, and a connect event processed late looks like a timeout.
   */
  launchesPerTick: number;
  /**
   * Retry a silence that overlapped a stall of this process (see EventLoopStalls), even when the
   * loss measured so far asks for no further pass. Needed while the probe's connect timer can win
   * the race against a connect completed during the stall; a probe that looks at pending I/O before
   * calling a connect timed out makes it unnecessary.
   */
  retryLateSilences: boolean;
  /** Stall detection; default a 10 ms event-loop watch. Replaceable for tests. */
  stalls?: StallClock;
  /** Network group of an address; round trips are estimated per group. */
  groupOf: (host: string) => string;
  /** Last recorded exposure of a target (from the store); not `none` means confirm at the ceiling before saying filtered. */
  previousExposure?: (target: Target) => Exposure | undefined;
  /** Passed to every probe; its connect timeout is set per attempt. */
  probeOptions: Partial<ProbeOptions>;
}

export const DEFAULT_ADAPTIVE_OPTIONS: AdaptiveOptions = {
  concurrency: DEFAULT_SOCKETS,
  floorMs: 100,
  ceilingMs: 3_500,
  rttMultiplier: 4,
  initialTimeoutMs: 1_000,
  attemptGrowth: 1.5,
  minAttempts: 2,
  maxAttempts: 5,
  missBudget: 0.01,
  initialWindow: 50,
  overallPercentile: 0.25,
  launchesPerTick: 10,
  retryLateSilences: true,
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
  /** Estimated chance that one attempt at an answering endpoint goes unanswered (outside stalls). */
  silenceRate: number;
  /** Silent attempts that overlapped a stall of this process: retried, not counted as loss. */
  lateSilences: number;
  /** `dropped` results looked at again with a second connection. */
  droppedRechecks: number;
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
    lateSilences: 0,
    droppedRechecks: 0,
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

  #sorted: number[] | null = null;

  percentile(p: number): number | null {
    if (this.#recent.length === 0) return null;
    // Re-sorted at most every 16 samples: timeouts are asked for far more often than samples change.
    if (this.#sorted === null || this.count % 16 === 0 || this.#sorted.length < 16) {
      this.#sorted = [...this.#recent].sort((a, b) => a - b);
    }
    const sorted = this.#sorted;
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  }

  /** Connect timeout from this group's own round trip, or null before any sample. */
  groupTimeoutMs(options: Pick<AdaptiveOptions, "floorMs" | "ceilingMs" | "rttMultiplier">): number | null {
    return this.count === 0 ? null : clampTimeout(options.rttMultiplier * this.min, options);
  }

  /** Connect timeout for a group with no sample of its own, from everyone's, or null before any. */
  overallTimeoutMs(
    options: Pick<AdaptiveOptions, "floorMs" | "ceilingMs" | "rttMultiplier"> & { overallPercentile?: number },
  ): number | null {
    const sample = this.percentile(options.overallPercentile ?? 0.25);
    return sample === null ? null : clampTimeout(options.rttMultiplier * sample, options);
  }
}

export function clampTimeout(ms: number, options: Pick<AdaptiveOptions, "floorMs" | "ceilingMs">): number {
  return Math.min(options.ceilingMs, Math.max(options.floorMs, Math.ceil(ms)));
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

function lateAllowanceMs(timeoutMs: number): number {
  return Math.max(20, 0.2 * timeoutMs);
}

/** Where the scheduler learns whether this process stalled (its event loop did not turn) over a time span. */
export interface StallClock {
  /** The longest stall that overlapped [fromMs, toMs] (performance.now() times), ms. */
  maxStallBetween(fromMs: number, toMs: number): number;
  /** How long, in all, the loop stood still within [fromMs, toMs], ms. */
  stalledMsBetween(fromMs: number, toMs: number): number;
  start(): void;
  stop(): void;
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
    this.#stalls.push({ at, ms });
    while (this.#stalls.length > 0 && (this.#stalls[0]?.at ?? at) < at - 60_000) this.#stalls.shift();
  }

  maxStallBetween(fromMs: number, toMs: number): number {
    let max = 0;
    this.#overlapping(fromMs, toMs, (stall) => {
      max = Math.max(max, stall.ms);
    });
    return max;
  }

  stalledMsBetween(fromMs: number, toMs: number): number {
    let total = 0;
    this.#overlapping(fromMs, toMs, (stall) => {
      total += Math.max(0, Math.min(stall.at, toMs) - Math.max(stall.at - stall.ms, fromMs));
    });
    return total;
  }

  /** Stalls are kept in time order: from the first one ending after `fromMs` (binary search) to the last that can start before `toMs`. */
  #overlapping(fromMs: number, toMs: number, visit: (stall: { at: number; ms: number }) => void): void {
    let low = 0;
    let high = this.#stalls.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.#stalls[middle]?.at ?? 0) < fromMs) low = middle + 1;
      else high = middle;
    }
    for (let i = low; i < this.#stalls.length; i++) {
      const stall = this.#stalls[i] as { at: number; ms: number };
      if (stall.at - this.#longest > toMs) break;
      if (stall.at - stall.ms <= toMs) visit(stall);
    }
  }
}

/**
 * How many answering endpoints are expected to remain hidden among the silent ones after
 * `attempts` tries each, given the answering endpoints found so far and how often one attempt at
 * them went unanswered: `silent` unanswered out of `silent + answered` attempts (with one imaginary
 * miss, so a clean record still counts as uncertain). `answered` defaults to `answering`.
 */
export function expectedHidden(answering: number, silent: number, attempts: number, answered = answering): number {
  return Math.max(answering, 1) * silenceRateOf(silent, answered) ** attempts;
}

export function silenceRateOf(silent: number, answered: number): number {
  return (silent + 1) / (silent + answered + 1);
}

interface Job {
  target: Target;
  /** Attempts made so far. */
  attempts: number;
  /** Silent attempts (performance.now() span and timeout), judged against stalls once known. */
  silences: Array<{ from: number; to: number; timeoutMs: number }>;
  /** Connect timeout of the next attempt, when fixed in advance (confirmation at the ceiling). */
  timeoutMs?: number;
  confirmed: boolean;
  /** A `dropped` result (accepted, then nothing) kept while a second connection looks again. */
  dropped?: ProbeResult;
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
  if (settings.minAttempts < 1 || settings.maxAttempts < settings.minAttempts)
    throw new RangeError("need 1 <= minAttempts <= maxAttempts");

  const groups = new Map<string, RttSamples>();
  const overall = new RttSamples();
  const source = targets[Symbol.iterator]();
  let sourceDone = false;
  /** Attempts that may start now: retries and confirmations, after every target had its first. */
  const ready: Job[] = [];
  /** Jobs silent after n >= minAttempts attempts, kept until every attempt up to n is over. */
  const undecided = new Map<number, Set<Job>>();
  /** Undecided jobs, in the order of their last silence, to check against stalls once on record. */
  const stallChecks: Job[] = [];
  let stallChecked = 0;
  /** Attempts running: their pass, when they started and their connect timeout. */
  const running = new Set<{ pass: number; startedAt: number; timeoutMs: number }>();
  let decideTimer: NodeJS.Timeout | undefined;
  const timeoutSums: number[] = [];
  const completed: ProbeResult[] = [];
  let active = 0;
  let answering = 0;
  /**
   * Attempts at endpoints that answered (the silent ones before, and the one that answered), for the
   * loss estimate. Judged against stalls only when the estimate is needed, so that a stall is on record.
   */
  const attemptsOfAnswering: Array<{ from: number; to: number; timeoutMs: number; silent: boolean }> = [];
  let judged = 0;
  let silentOfAnswering = 0;
  let answeredOfAnswering = 0;
  /** The loss estimate from attempts that overlapped no stall: a stall hides answers and loss alike. */
  const lossTrials = () => {
    for (; judged < attemptsOfAnswering.length; judged++) {
      const attempt = attemptsOfAnswering[judged] as (typeof attemptsOfAnswering)[number];
      if (duringStall(attempt)) {
        if (attempt.silent) stats.lateSilences++;
      } else if (attempt.silent) silentOfAnswering++;
      else answeredOfAnswering++;
    }
    stats.silenceRate = silenceRateOf(silentOfAnswering, answeredOfAnswering);
    return { silent: silentOfAnswering, answered: answeredOfAnswering };
  };
  let measured = false;
  let windowTimer: NodeJS.Timeout | undefined;
  let windowExpired = false;
  let wake: (() => void) | undefined;
  const stalls = settings.stalls ?? new EventLoopStalls();
  /** When each pass last saw a silence: a stall is only on record once the loop has turned again. */
  const lastSilenceAt = new Map<number, number>();
  const STALL_RECORD_DELAY_MS = 30;
  /**
   * A silence is suspect when one stall covered this share of its timeout: an answer arriving a
   * round trip (at most a quarter of the timeout, which is 4 x the measured round trip) after the
   * SYN can only have gone unseen behind a stall of the rest of the timeout.
   */
  const STALL_SHARE_OF_TIMEOUT = 0.75;
  const duringStall = (silence: Job["silences"][number] | undefined): boolean =>
    silence !== undefined &&
    stalls.maxStallBetween(silence.from, silence.to) >= STALL_SHARE_OF_TIMEOUT * silence.timeoutMs;

  /** The job's last silence overlapped a stall (counted once, when the decision is made). */
  const stalledSilence = (job: Job): boolean => {
    const stalled = duringStall(job.silences.at(-1));
    if (stalled) stats.lateSilences++;
    return stalled;
  };

  const timeoutFor = (job: Job): number => {
    if (job.timeoutMs !== undefined) return job.timeoutMs;
    const group = groups.get(settings.groupOf(job.target.host));
    const base = group?.groupTimeoutMs(settings) ?? overall.overallTimeoutMs(settings) ?? settings.initialTimeoutMs;
    return Math.min(settings.ceilingMs, Math.ceil(base * settings.attemptGrowth ** job.attempts));
  };

  const finish = (result: ProbeResult) => {
    completed.push(result);
    wake?.();
  };

  const needsConfirmation = (job: Job): boolean => {
    if (job.confirmed || !settings.previousExposure) return false;
    const previous = settings.previousExposure(job.target);
    return previous !== undefined && previous !== "none";
  };

  /** First attempts of new targets come before retries, so a retry is never right behind the attempt it repeats. */
  const nextJob = (): Job | undefined => {
    if (!sourceDone) {
      const next = source.next();
      if (!next.done) {
        stats.targets++;
        return { target: next.value, attempts: 0, silences: [], confirmed: false };
      }
      sourceDone = true;
    }
    return ready.shift();
  };

  /**
   * Decides, pass by pass, what the endpoints still silent after n attempts get: another attempt
   * while the loss measured so far says an answering endpoint may hide among them, a confirmation
   * at the ceiling when they were exposed before, or the verdict `filtered`. Only once no attempt up
   * to n can still run, so the loss estimate has seen the whole pass.
   */
  /**
   * Whether an attempt of pass <= n may still end silent. One running past its connect timeout (and
   * the lateness allowance) has connected: it will answer, however slowly, and does not hold the pass.
   */
  const mayStillBeSilent = (n: number): boolean => {
    const now = performance.now();
    let waitMs = Number.POSITIVE_INFINITY;
    for (const [pass, at] of lastSilenceAt) {
      if (pass <= n && now < at + STALL_RECORD_DELAY_MS) waitMs = Math.min(waitMs, at + STALL_RECORD_DELAY_MS - now);
    }
    for (const attempt of running) {
      if (attempt.pass > n) continue;
      const silentUntil = attempt.startedAt + attempt.timeoutMs + lateAllowanceMs(attempt.timeoutMs);
      if (now < silentUntil) waitMs = Math.min(waitMs, silentUntil - now);
    }
    if (waitMs === Number.POSITIVE_INFINITY) return false;
    // Decide again when that window closes, even if no probe finishes meanwhile.
    if (decideTimer === undefined) {
      decideTimer = setTimeout(() => {
        decideTimer = undefined;
        decide();
        launch();
        wake?.();
      }, Math.ceil(waitMs) + 1);
    }
    return true;
  };

  // Deciding looks at every running attempt: after each completion that would cost O(sockets), so
  // it runs at most every few ms (a timer catches the last completion of a burst).
  let lastDecideAt = 0;
  let throttleTimer: NodeJS.Timeout | undefined;
  const decideSoon = () => {
    if (undecided.size === 0) return;
    const now = performance.now();
    if (now - lastDecideAt >= 5) {
      lastDecideAt = now;
      decide();
    } else if (throttleTimer === undefined) {
      throttleTimer = setTimeout(() => {
        throttleTimer = undefined;
        lastDecideAt = performance.now();
        decide();
        launch();
        wake?.();
      }, 5);
    }
  };

  /**
   * A silence behind a stall proves nothing, whatever the rest of its pass shows: retry it as soon
   * as the stall is on record, alongside the pass, rather than after it.
   */
  const retryStalledNow = () => {
    const now = performance.now();
    for (; stallChecked < stallChecks.length; stallChecked++) {
      const job = stallChecks[stallChecked] as Job;
      const silence = job.silences.at(-1);
      if (silence && now - silence.to < STALL_RECORD_DELAY_MS) break;
      const waiting = undecided.get(job.attempts);
      if (!waiting?.has(job) || !stalledSilence(job)) continue;
      waiting.delete(job);
      if (waiting.size === 0) undecided.delete(job.attempts);
      ready.push(job);
    }
    if (stallChecked === stallChecks.length) {
      stallChecks.length = 0;
      stallChecked = 0;
    }
  };

  const decide = () => {
    if (settings.retryLateSilences) retryStalledNow();
    for (const attempts of [...undecided.keys()].sort((a, b) => a - b)) {
      const busy =
        !sourceDone ||
        mayStillBeSilent(attempts) ||
        ready.some((job) => job.attempts < attempts) ||
        [...undecided.keys()].some((other) => other < attempts);
      if (busy) return;
      const jobs = undecided.get(attempts) ?? new Set<Job>();
      undecided.delete(attempts);
      const trials = lossTrials();
      const hidden = expectedHidden(answering, trials.silent, attempts, trials.answered);
      for (const job of jobs) {
        const stalled = settings.retryLateSilences && stalledSilence(job);
        if (attempts < settings.maxAttempts && (hidden >= settings.missBudget || stalled)) ready.push(job);
        else if (needsConfirmation(job)) {
          job.confirmed = true;
          job.timeoutMs = settings.ceilingMs;
          stats.confirmations++;
          ready.push(job);
        } else finish(job.lastResult as ProbeResult);
      }
    }
  };

  const onResult = (job: Job, timeoutMs: number, startedAt: number, result: ProbeResult) => {
    job.attempts++;
    job.lastResult = result;
    // Accepted, then not a byte: on a lossy path a server's reply can be lost and its close (or the
    // reset for our commands) arrive first. One more connection looks again; the first answer with
    // bytes wins, and without one the endpoint stays dropped (it did accept).
    if (result.state === "dropped" && job.dropped === undefined) {
      job.dropped = result;
      stats.droppedRechecks++;
      ready.push(job);
      return;
    }
    if (
      job.dropped !== undefined &&
      (result.state === "filtered" || result.state === "dropped" || result.state === "closed")
    ) {
      finish(job.dropped);
      return;
    }
    const sample = rttSampleOf(result, stalls.stalledMsBetween(startedAt, performance.now()));
    if (sample !== null) {
      measured = true;
      const key = settings.groupOf(job.target.host);
      let group = groups.get(key);
      if (!group) {
        group = new RttSamples(1);
        groups.set(key, group);
      }
      group.add(sample);
      overall.add(sample);
      answering++;
      for (const silence of job.silences) attemptsOfAnswering.push({ ...silence, silent: true });
      attemptsOfAnswering.push({ from: startedAt, to: performance.now(), timeoutMs, silent: false });
      if (job.attempts > 1) stats.recovered++;
      finish(result);
      return;
    }
    job.silences.push({ from: startedAt, to: performance.now(), timeoutMs });
    lastSilenceAt.set(job.attempts, performance.now());
    if (job.confirmed) {
      finish(result);
    } else if (job.attempts < settings.minAttempts) {
      ready.push(job);
    } else {
      const waiting = undecided.get(job.attempts) ?? new Set<Job>();
      waiting.add(job);
      undecided.set(job.attempts, waiting);
      if (settings.retryLateSilences && job.attempts < settings.maxAttempts) stallChecks.push(job);
    }
  };

  let launchScheduled = false;
  const launch = () => {
    for (let launched = 0; ; launched++) {
      // Before a round trip is measured every timeout is the initial one: a few probes go first,
      // the full window opens once one answers (or that timeout passes in silence).
      const limit = measured || windowExpired ? concurrency : Math.min(concurrency, settings.initialWindow);
      if (active >= limit) break;
      if (launched >= settings.launchesPerTick) {
        if (!launchScheduled) {
          launchScheduled = true;
          setImmediate(() => {
            launchScheduled = false;
            launch();
          });
        }
        break;
      }
      const job = nextJob();
      if (!job) break;
      const pass = job.attempts + 1;
      const timeoutMs = timeoutFor(job);
      stats.attempts++;
      stats.attemptsByPass[pass - 1] = (stats.attemptsByPass[pass - 1] ?? 0) + 1;
      timeoutSums[pass - 1] = (timeoutSums[pass - 1] ?? 0) + timeoutMs;
      const attempt = { pass, startedAt: performance.now(), timeoutMs };
      running.add(attempt);
      active++;
      stats.maxInFlight = Math.max(stats.maxInFlight, active);
      probe(job.target, { ...settings.probeOptions, connectTimeoutMs: timeoutMs }, context)
        .then(
          (result) => onResult(job, timeoutMs, attempt.startedAt, result),
          // A probe never throws by contract; if one does, the target is still reported.
          (error: unknown) => finish(failedResult(job.target, error)),
        )
        .finally(() => {
          active--;
          running.delete(attempt);
          decideSoon();
          launch();
          wake?.();
        });
    }
    if (!measured && !windowExpired && windowTimer === undefined) {
      windowTimer = setTimeout(() => {
        windowExpired = true;
        launch();
        wake?.();
      }, settings.initialTimeoutMs);
    }
  };

  try {
    stalls.start();
    launch();
    for (;;) {
      if (completed.length > 0) {
        for (const result of completed.splice(0, completed.length)) yield result;
        continue;
      }
      if (active === 0) {
        decide();
        launch();
        if (completed.length > 0 || active > 0) continue;
        if (sourceDone && ready.length === 0 && undecided.size === 0) break;
        // Otherwise a decision waits for the stall record of the last silences (decideTimer wakes us).
        if (decideTimer === undefined) throw new Error("adaptive scheduler stalled");
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    lossTrials(); // the final estimate, for the stats
    stalls.stop();
    if (windowTimer) clearTimeout(windowTimer);
    if (decideTimer) clearTimeout(decideTimer);
    if (throttleTimer) clearTimeout(throttleTimer);
    stats.meanTimeoutByPass = timeoutSums.map((sum, index) =>
      Math.round(sum / Math.max(1, stats.attemptsByPass[index] ?? 1)),
    );
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
