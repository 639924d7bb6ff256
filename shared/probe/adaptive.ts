// The engine's settings and what it reports (docs/readme-probe.md, "The engine"). Most public
// addresses drop packets to 6379, so a fixed connect timeout spends nearly all of a scan waiting on
// silence. Instead, as nmap does, the engine measures round-trip times from the endpoints that
// answer, per network group (/24, /48), and gives a silent endpoint a timeout of a few round trips,
// clamped to a floor and a ceiling. Accuracy is kept by retries: every silent endpoint gets a fresh
// connection (a lost SYN or SYN-ACK is normal), further passes run while the loss seen so far says
// an answering endpoint could still be hiding among the silent ones, and an endpoint that was
// exposed at its last observation is confirmed at the long timeout before it may be called
// filtered. A silence behind a stall of this process proves nothing and is retried; a `dropped`
// verdict (accepted, no byte) gets a second look. The parts: rtt.ts (round trips), stalls.ts
// (stalls of this process), loss.ts (loss estimate), scheduler.ts (the scheduling state).
import type { Exposure, ProbeOutcome, Target } from "../exposure/model.ts";
import type { ProbeContext, ProbeOptions } from "./probe.ts";
import { networkGroup } from "./rtt.ts";
import type { StallClock } from "./stalls.ts";

/** The single-target probe the engine runs; replaceable so a test can stand in a network. */
export type ProbeFunction = (
  target: Target,
  options: Partial<ProbeOptions>,
  context: ProbeContext,
) => Promise<ProbeOutcome>;

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
  /** Of those, how many answered first on each pass (index 0 = pass 1, always 0): what each later pass found. */
  recoveredByPass: number[];
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
    recoveredByPass: [],
    confirmations: 0,
    maxInFlight: 0,
    silenceRate: 0,
    lateSilences: 0,
    droppedRechecks: 0,
  };
}
