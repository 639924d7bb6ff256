// Stall detection (shared/probe/stalls.ts): when this process stood still, and which silences that hides.
import { describe, expect, it } from "vitest";
import { EventLoopStalls, STALL_SHARE_OF_TIMEOUT, silenceDuringStall } from "../../shared/probe/stalls.ts";

describe("stall detection", () => {
  it("finds the longest stall that overlaps a time span", () => {
    const stalls = new EventLoopStalls();
    stalls.record(100, 3); // too short to keep
    stalls.record(200, 50); // 150-200
    stalls.record(500, 300); // 200-500
    stalls.record(900, 20); // 880-900
    expect(stalls.maxStallBetween(0, 120)).toBe(0);
    expect(stalls.maxStallBetween(160, 170)).toBe(50);
    expect(stalls.maxStallBetween(250, 260)).toBe(300);
    expect(stalls.maxStallBetween(600, 890)).toBe(20);
    expect(stalls.maxStallBetween(950, 2_000)).toBe(0);
    expect(stalls.stalledMsBetween(180, 300)).toBe(20 + 100);
    expect(stalls.stalledMsBetween(0, 1_000)).toBe(50 + 300 + 20);
  });

  it("finds stalls recorded out of order of their starts too", () => {
    const stalls = new EventLoopStalls();
    stalls.record(200, 50); // 150-200
    stalls.record(500, 100); // 400-500
    stalls.record(520, 400); // 120-520: starts before both
    expect(stalls.maxStallBetween(130, 140)).toBe(400);
    expect(stalls.maxStallBetween(450, 460)).toBe(400);
    expect(stalls.stalledMsBetween(100, 600)).toBe(50 + 100 + 400);
  });

  it("calls a silence suspect only when one stall covered most of its timeout", () => {
    const stalls = new EventLoopStalls();
    stalls.record(1_000, 300); // 700-1,000
    const covered = STALL_SHARE_OF_TIMEOUT * 400;
    expect(covered).toBeLessThanOrEqual(300);
    expect(silenceDuringStall(stalls, { from: 650, to: 1_050, timeoutMs: 400 })).toBe(true);
    expect(silenceDuringStall(stalls, { from: 650, to: 1_650, timeoutMs: 1_000 })).toBe(false);
    expect(silenceDuringStall(stalls, { from: 1_100, to: 1_500, timeoutMs: 400 })).toBe(false);
    expect(silenceDuringStall(stalls, undefined)).toBe(false);
  });

  it("measures a real stall of the event loop", async () => {
    const stalls = new EventLoopStalls(5);
    stalls.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const from = performance.now();
    while (performance.now() - from < 120) {
      // hold the loop
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
    stalls.stop();
    // A stall of at least most of the 120 ms was seen (the loop may have been late already).
    expect(stalls.maxStallBetween(from, performance.now())).toBeGreaterThanOrEqual(60);
  });
});
