// The engine (docs/readme-probe.md, "The engine"): probeAdaptive, and the scheduling state that
// decides which attempt runs next, with which connect timeout, and when a silent endpoint gets
// another pass, a confirmation at the ceiling or the verdict `filtered`. Settings: adaptive.ts.
import { isProbeError, type ProbeOutcome, type ProbeResult, type Target } from "../exposure/model.ts";
import {
  type AdaptiveOptions,
  type AdaptiveStats,
  DEFAULT_ADAPTIVE_OPTIONS,
  emptyStats,
  type ProbeFunction,
} from "./adaptive.ts";
import { LossEstimate } from "./loss.ts";
import { failedResult, type ProbeContext, type ProbeOptions, probeTarget } from "./probe.ts";
import { RoundTrips, rttSampleOf } from "./rtt.ts";
import { EventLoopStalls, type Silence, STALL_RECORD_DELAY_MS, type StallClock, silenceDuringStall } from "./stalls.ts";

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
): AsyncGenerator<ProbeOutcome> {
  const settings: AdaptiveOptions = { ...DEFAULT_ADAPTIVE_OPTIONS, ...options };
  const { concurrency } = settings;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError("concurrency must be a positive integer");
  if (settings.minAttempts < 1 || settings.maxAttempts < settings.minAttempts)
    throw new RangeError("need 1 <= minAttempts <= maxAttempts");
  const stalls = settings.stalls ?? new EventLoopStalls();
  const scheduler = new Scheduler(targets, settings, stalls, context, probe, stats);
  try {
    stalls.start();
    scheduler.launch();
    for (;;) {
      if (scheduler.completed.length > 0) {
        for (const result of scheduler.completed.splice(0, scheduler.completed.length)) yield result;
        continue;
      }
      if (scheduler.active === 0) {
        scheduler.decide();
        scheduler.launch();
        if (scheduler.completed.length > 0 || scheduler.active > 0) continue;
        if (scheduler.exhausted) break;
        // Otherwise a decision waits for the stall record of the last silences (a timer wakes us).
        if (!scheduler.decisionPending) throw new Error("adaptive scheduler stalled");
      }
      await scheduler.waitForProgress();
    }
  } finally {
    scheduler.close();
    stalls.stop();
  }
}

interface Job {
  target: Target;
  /** Attempts made so far. */
  attempts: number;
  /** Silent attempts, judged against stalls once known. */
  silences: Silence[];
  /** Connect timeout of the next attempt, when fixed in advance (confirmation at the ceiling). */
  timeoutMs?: number;
  confirmed: boolean;
  /** A `dropped` result (accepted, then nothing) kept while a second connection looks again. */
  dropped?: ProbeResult;
  lastResult?: ProbeResult;
}

/** An attempt running: its pass, when it started and its connect timeout. */
interface Running {
  pass: number;
  startedAt: number;
  timeoutMs: number;
}

/** How long after its timeout a connect may still be reported (a loop turn's lateness). */
function lateAllowanceMs(timeoutMs: number): number {
  return Math.max(20, 0.2 * timeoutMs);
}

/** Deciding looks at every running attempt, so after a completion it runs at most this often. */
const DECIDE_EVERY_MS = 5;

export class Scheduler {
  readonly #settings: AdaptiveOptions;
  readonly #context: ProbeContext;
  readonly #probe: ProbeFunction;
  readonly #stats: AdaptiveStats;
  readonly #stalls: StallClock;
  readonly #source: Iterator<Target>;
  readonly #roundTrips: RoundTrips;
  readonly #loss: LossEstimate;
  #sourceDone = false;
  /** Attempts that may start now: retries and confirmations, after every target had its first. */
  readonly #ready: Job[] = [];
  /** Jobs silent after n >= minAttempts attempts, kept until every attempt up to n is over. */
  readonly #undecided = new Map<number, Set<Job>>();
  readonly #running = new Set<Running>();
  /** When each pass last saw a silence: a stall is only on record once the loop has turned again. */
  readonly #lastSilenceAt = new Map<number, number>();
  readonly #timeoutSums: number[] = [];
  readonly #optionsByTimeout = new Map<number, Partial<ProbeOptions>>();
  /** Final results not yet handed to the consumer. */
  readonly completed: ProbeOutcome[] = [];
  #active = 0;
  #windowTimer: NodeJS.Timeout | undefined;
  #windowExpired = false;
  #decideTimer: NodeJS.Timeout | undefined;
  #throttleTimer: NodeJS.Timeout | undefined;
  #lastDecideAt = 0;
  #launchScheduled = false;
  #wake: (() => void) | undefined;

  constructor(
    targets: Iterable<Target>,
    settings: AdaptiveOptions,
    stalls: StallClock,
    context: ProbeContext,
    probe: ProbeFunction,
    stats: AdaptiveStats,
  ) {
    this.#settings = settings;
    this.#stalls = stalls;
    this.#context = context;
    this.#probe = probe;
    this.#stats = stats;
    this.#source = targets[Symbol.iterator]();
    this.#roundTrips = new RoundTrips(settings);
    this.#loss = new LossEstimate((attempt) => silenceDuringStall(stalls, attempt));
  }

  /** Attempts running now. */
  get active(): number {
    return this.#active;
  }

  /** Nothing left to try and nothing waiting for a decision. */
  get exhausted(): boolean {
    return this.#sourceDone && this.#ready.length === 0 && this.#undecided.size === 0;
  }

  /** A decision is due by a timer (it waits for the stall record of the last silences). */
  get decisionPending(): boolean {
    return this.#decideTimer !== undefined;
  }

  /** Resolves when a result is ready or a decision may have changed something. */
  waitForProgress(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** Starts attempts up to the socket bound (a few per event-loop turn). */
  launch(): void {
    const settings = this.#settings;
    for (let launched = 0; ; launched++) {
      // Before a round trip is measured every timeout is the initial one: a few probes go first,
      // the full window opens once one answers (or that timeout passes in silence).
      const open = this.#roundTrips.measured || this.#windowExpired;
      const limit = open ? settings.concurrency : Math.min(settings.concurrency, settings.initialWindow);
      if (this.#active >= limit) break;
      if (launched >= settings.launchesPerTick) {
        this.#launchNextTurn();
        break;
      }
      const job = this.#nextJob();
      if (!job) break;
      this.#start(job);
    }
    if (!this.#roundTrips.measured && !this.#windowExpired && this.#windowTimer === undefined) {
      this.#windowTimer = setTimeout(() => {
        this.#windowExpired = true;
        this.launch();
        this.#wake?.();
      }, settings.initialTimeoutMs);
    }
  }

  /**
   * Decides, pass by pass, what the endpoints still silent after n attempts get: another attempt
   * while the loss measured so far says an answering endpoint may hide among them, a confirmation
   * at the ceiling when they were exposed before, or the verdict `filtered`. Only once no attempt up
   * to n can still run, so the loss estimate has seen the whole pass.
   */
  decide(): void {
    const settings = this.#settings;
    for (const attempts of [...this.#undecided.keys()].sort((a, b) => a - b)) {
      if (this.#passBusy(attempts)) return;
      const jobs = this.#undecided.get(attempts) ?? new Set<Job>();
      this.#undecided.delete(attempts);
      const hidden = this.#judgeLoss().expectedHidden(attempts);
      for (const job of jobs) {
        if (attempts < settings.maxAttempts && hidden >= settings.missBudget) this.#ready.push(job);
        else if (this.#needsConfirmation(job)) {
          job.confirmed = true;
          job.timeoutMs = settings.ceilingMs;
          this.#stats.confirmations++;
          this.#ready.push(job);
        } else this.#finish(job.lastResult as ProbeResult);
      }
    }
  }

  /** Stops the timers and completes the stats. */
  close(): void {
    this.#judgeLoss(); // the final estimate, for the stats
    if (this.#windowTimer) clearTimeout(this.#windowTimer);
    if (this.#decideTimer) clearTimeout(this.#decideTimer);
    if (this.#throttleTimer) clearTimeout(this.#throttleTimer);
    const stats = this.#stats;
    stats.meanTimeoutByPass = this.#timeoutSums.map((sum, index) =>
      Math.round(sum / Math.max(1, stats.attemptsByPass[index] ?? 1)),
    );
  }

  #launchNextTurn(): void {
    if (this.#launchScheduled) return;
    this.#launchScheduled = true;
    setImmediate(() => {
      this.#launchScheduled = false;
      this.launch();
    });
  }

  /** First attempts of new targets come before retries, so a retry is never right behind the attempt it repeats. */
  #nextJob(): Job | undefined {
    if (!this.#sourceDone) {
      const next = this.#source.next();
      if (!next.done) {
        this.#stats.targets++;
        return { target: next.value, attempts: 0, silences: [], confirmed: false };
      }
      this.#sourceDone = true;
    }
    return this.#ready.shift();
  }

  #start(job: Job): void {
    const stats = this.#stats;
    const pass = job.attempts + 1;
    const timeoutMs = job.timeoutMs ?? this.#roundTrips.timeoutMs(job.target.host, job.attempts);
    stats.attempts++;
    stats.attemptsByPass[pass - 1] = (stats.attemptsByPass[pass - 1] ?? 0) + 1;
    this.#timeoutSums[pass - 1] = (this.#timeoutSums[pass - 1] ?? 0) + timeoutMs;
    const attempt: Running = { pass, startedAt: performance.now(), timeoutMs };
    this.#running.add(attempt);
    this.#active++;
    stats.maxInFlight = Math.max(stats.maxInFlight, this.#active);
    this.#probe(job.target, this.#probeOptions(timeoutMs), this.#context).then(
      (result) => {
        this.#onResult(job, timeoutMs, attempt.startedAt, result);
        this.#ended(attempt);
      },
      (error: unknown) => {
        // A probe never throws by contract; if one does, the target is still reported.
        this.#finish(failedResult(job.target, error));
        this.#ended(attempt);
      },
    );
  }

  /**
   * The options of an attempt with this connect timeout: made once per timeout (a few dozen whole
   * milliseconds in a scan) rather than once per attempt. A TLS handshake gets the long timeout,
   * never the attempt's silent-SYN one (probe.ts).
   */
  #probeOptions(timeoutMs: number): Partial<ProbeOptions> {
    let options = this.#optionsByTimeout.get(timeoutMs);
    if (options === undefined) {
      options = {
        handshakeTimeoutMs: this.#settings.ceilingMs,
        ...this.#settings.probeOptions,
        connectTimeoutMs: timeoutMs,
      };
      this.#optionsByTimeout.set(timeoutMs, options);
    }
    return options;
  }

  #ended(attempt: Running): void {
    this.#active--;
    this.#running.delete(attempt);
    this.#decideSoon();
    this.launch();
    this.#wake?.();
  }

  #onResult(job: Job, timeoutMs: number, startedAt: number, outcome: ProbeOutcome): void {
    // The prober could not look (docs/readme-probe.md, "Probe errors"): no sample, no silence, no retry in
    // this scan; a `dropped` seen before stands, since that connection was made.
    if (isProbeError(outcome)) {
      this.#finish(job.dropped ?? outcome);
      return;
    }
    const result = outcome;
    job.attempts++;
    job.lastResult = result;
    // Accepted, then not a byte: on a lossy path a server's reply can be lost and its close (or the
    // reset for our commands) arrive first. One more connection looks again; the first answer with
    // bytes wins, and without one the endpoint stays dropped (it did accept).
    if (result.state === "dropped" && job.dropped === undefined) {
      job.dropped = result;
      this.#stats.droppedRechecks++;
      this.#ready.push(job);
      return;
    }
    if (
      job.dropped !== undefined &&
      (result.state === "filtered" || result.state === "dropped" || result.state === "closed")
    ) {
      this.#finish(job.dropped);
      return;
    }
    const now = performance.now();
    const sample = rttSampleOf(result, this.#stalls.stalledMsBetween(startedAt, now));
    if (sample !== null) {
      this.#roundTrips.add(job.target.host, sample);
      this.#loss.addAnswering(job.silences, { from: startedAt, to: now, timeoutMs });
      if (job.attempts > 1) {
        const stats = this.#stats;
        stats.recovered++;
        for (let pass = stats.recoveredByPass.length; pass < job.attempts; pass++) stats.recoveredByPass[pass] = 0;
        stats.recoveredByPass[job.attempts - 1] = (stats.recoveredByPass[job.attempts - 1] ?? 0) + 1;
      }
      this.#finish(result);
      return;
    }
    job.silences.push({ from: startedAt, to: now, timeoutMs });
    this.#lastSilenceAt.set(job.attempts, now);
    if (job.confirmed) {
      this.#finish(result);
    } else if (job.attempts < this.#settings.minAttempts) {
      this.#ready.push(job);
    } else {
      const waiting = this.#undecided.get(job.attempts) ?? new Set<Job>();
      waiting.add(job);
      this.#undecided.set(job.attempts, waiting);
    }
  }

  #finish(result: ProbeOutcome): void {
    this.completed.push(result);
    this.#wake?.();
  }

  #needsConfirmation(job: Job): boolean {
    if (job.confirmed || !this.#settings.previousExposure) return false;
    const previous = this.#settings.previousExposure(job.target);
    return previous !== undefined && previous !== "none";
  }

  /** The loss estimate, with the attempts since the last look judged against stalls. */
  #judgeLoss(): LossEstimate {
    this.#stats.lateSilences += this.#loss.judge();
    this.#stats.silenceRate = this.#loss.silenceRate;
    return this.#loss;
  }

  /** Whether the silent endpoints after `attempts` tries must wait: an earlier pass or an attempt is still open. */
  #passBusy(attempts: number): boolean {
    return (
      !this.#sourceDone ||
      this.#mayStillBeSilent(attempts) ||
      this.#ready.some((job) => job.attempts < attempts) ||
      [...this.#undecided.keys()].some((other) => other < attempts)
    );
  }

  /**
   * Whether an attempt of pass <= n may still end silent. One running past its connect timeout (and
   * the lateness allowance) has connected: it will answer, however slowly, and does not hold the pass.
   */
  #mayStillBeSilent(n: number): boolean {
    const now = performance.now();
    let waitMs = Number.POSITIVE_INFINITY;
    for (const [pass, at] of this.#lastSilenceAt) {
      if (pass <= n && now < at + STALL_RECORD_DELAY_MS) waitMs = Math.min(waitMs, at + STALL_RECORD_DELAY_MS - now);
    }
    for (const attempt of this.#running) {
      if (attempt.pass > n) continue;
      const silentUntil = attempt.startedAt + attempt.timeoutMs + lateAllowanceMs(attempt.timeoutMs);
      if (now < silentUntil) waitMs = Math.min(waitMs, silentUntil - now);
    }
    if (waitMs === Number.POSITIVE_INFINITY) return false;
    // Decide again when that window closes, even if no probe finishes meanwhile.
    if (this.#decideTimer === undefined) {
      this.#decideTimer = setTimeout(() => {
        this.#decideTimer = undefined;
        this.#decideAndLaunch();
      }, Math.ceil(waitMs) + 1);
    }
    return true;
  }

  #decideAndLaunch(): void {
    this.decide();
    this.launch();
    this.#wake?.();
  }

  /** Decides now, or within DECIDE_EVERY_MS (a timer catches the last completion of a burst). */
  #decideSoon(): void {
    if (this.#undecided.size === 0) return;
    const now = performance.now();
    if (now - this.#lastDecideAt >= DECIDE_EVERY_MS) {
      this.#lastDecideAt = now;
      this.decide();
    } else if (this.#throttleTimer === undefined) {
      this.#throttleTimer = setTimeout(() => {
        this.#throttleTimer = undefined;
        this.#lastDecideAt = performance.now();
        this.#decideAndLaunch();
      }, DECIDE_EVERY_MS);
    }
  }
}
