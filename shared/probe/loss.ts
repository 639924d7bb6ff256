// Loss estimation for the engine (docs/readme-probe.md, "The engine"): how often one attempt at an
// endpoint that does answer goes unanswered, and so how many answering endpoints may still hide
// among the silent ones.
import type { Silence } from "./stalls.ts";

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

/**
 * The attempts at endpoints that answered (the silent ones before, and the one that answered).
 * They are judged against stalls only when the estimate is needed, so that a stall is on record:
 * an attempt that overlapped a stall is left out, since a stall hides answers and loss alike.
 */
export class LossEstimate {
  readonly #attempts: Array<Silence & { silent: boolean }> = [];
  readonly #duringStall: (attempt: Silence) => boolean;
  #judged = 0;
  /** Answering endpoints found so far. */
  answering = 0;
  silent = 0;
  answered = 0;
  /** Silent attempts left out because they overlapped a stall. */
  lateSilences = 0;

  constructor(duringStall: (attempt: Silence) => boolean) {
    this.#duringStall = duringStall;
  }

  /** An endpoint answered on `answer`, after the silent attempts `silences`. */
  addAnswering(silences: readonly Silence[], answer: Silence): void {
    this.answering++;
    for (const silence of silences) this.#attempts.push({ ...silence, silent: true });
    this.#attempts.push({ ...answer, silent: false });
  }

  /** Judges the attempts added since the last call; returns the late silences it found among them. */
  judge(): number {
    const before = this.lateSilences;
    for (; this.#judged < this.#attempts.length; this.#judged++) {
      const attempt = this.#attempts[this.#judged] as Silence & { silent: boolean };
      if (this.#duringStall(attempt)) {
        if (attempt.silent) this.lateSilences++;
      } else if (attempt.silent) this.silent++;
      else this.answered++;
    }
    return this.lateSilences - before;
  }

  /** Chance that one attempt at an answering endpoint goes unanswered (outside stalls). */
  get silenceRate(): number {
    return silenceRateOf(this.silent, this.answered);
  }

  /** Answering endpoints expected to hide among those silent after `attempts` tries (judge() first). */
  expectedHidden(attempts: number): number {
    return expectedHidden(this.answering, this.silent, attempts, this.answered);
  }
}
