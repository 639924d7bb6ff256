// Loss estimation (shared/probe/loss.ts): how many answering endpoints may hide among the silent ones.
import { describe, expect, it } from "vitest";
import { expectedHidden, LossEstimate, silenceRateOf } from "../../shared/probe/loss.ts";

describe("loss estimation", () => {
  it("expects fewer hidden endpoints with every attempt and with less loss", () => {
    expect(expectedHidden(4_000, 0, 2)).toBeLessThan(0.01);
    expect(expectedHidden(4_000, 80, 2)).toBeGreaterThan(1);
    expect(expectedHidden(4_000, 80, 4)).toBeLessThan(expectedHidden(4_000, 80, 3));
  });

  it("counts a clean record as a little uncertain", () => {
    expect(silenceRateOf(0, 0)).toBe(1);
    expect(silenceRateOf(0, 99)).toBeCloseTo(0.01);
    expect(silenceRateOf(9, 90)).toBeCloseTo(0.1);
  });

  it("counts the attempts at answering endpoints, leaving out those that overlapped a stall", () => {
    // Attempts starting before t=100 overlapped a stall of this process.
    const loss = new LossEstimate((attempt) => attempt.from < 100);
    const span = (from: number) => ({ from, to: from + 50, timeoutMs: 50 });
    loss.addAnswering([span(0)], span(200)); // silent during the stall, then answered
    loss.addAnswering([span(300)], span(400)); // silent (calm), then answered
    loss.addAnswering([], span(500));
    expect(loss.judge()).toBe(1);
    expect(loss.answering).toBe(3);
    expect(loss.silent).toBe(1);
    expect(loss.answered).toBe(3);
    expect(loss.lateSilences).toBe(1);
    expect(loss.silenceRate).toBeCloseTo(2 / 5);
    expect(loss.expectedHidden(2)).toBeCloseTo(3 * (2 / 5) ** 2);
    // Judged once: a second look adds nothing.
    expect(loss.judge()).toBe(0);
    expect(loss.silent).toBe(1);
  });
});
