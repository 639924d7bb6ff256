// CI check that the fleet simulator and the bench runner still work: a 500-endpoint fleet in
// network namespaces (real redis-server in four states, the per-address server, first-SYN drops,
// slow replies, accept-and-close), probed by the engine from the scanner namespace, must be
// classified 100% right. Needs root; without it this fails loudly (docs/readme-lab.md), never skips.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet, truthCounts } from "../../bench/fleet.ts";
import { runEngine } from "../../bench/run.ts";

let fleet: Fleet;

beforeAll(async () => {
  fleet = await Fleet.create({ size: 500, dropped: 10, slow: 12, seed: 11 });
}, 120_000);

afterAll(async () => {
  const namespaces = [fleet?.scannerNs, fleet?.routerNs];
  await fleet?.teardown();
  const left = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  for (const ns of namespaces) if (ns) expect(left).not.toContain(ns);
});

describe("fleet simulator and bench runner (500 endpoints)", () => {
  it("builds the mix it was asked for, inside 198.18.0.0/15, in shuffled order", () => {
    const counts = truthCounts(fleet.endpoints);
    expect(counts.filtered).toBe(290);
    expect(counts.closed).toBe(150);
    expect(counts.dropped).toBe(10);
    expect(fleet.endpoints.every((e) => /^198\.1[89]\.\d+\.\d+$/.test(e.ip))).toBe(true);
    // Shuffled: the first 50 in probe order are not all of one kind.
    expect(new Set(fleet.endpoints.slice(0, 50).map((e) => e.truth)).size).toBeGreaterThan(2);
    expect(fleet.endpoints.filter((e) => e.synDropOnce)).toHaveLength(6);
    expect(fleet.endpoints.filter((e) => e.delayMs !== undefined)).toHaveLength(6);
  });

  it("classifies every endpoint right with the engine, within the socket bound", async () => {
    const run = await runEngine(fleet, 200, []);
    const wrong = Object.fromEntries(
      Object.entries(run.score.byState)
        .filter(([, bucket]) => bucket && bucket.correct < bucket.total)
        .map(([state, bucket]) => [state, bucket?.wrong]),
    );
    expect(wrong).toEqual({});
    expect(run.score.correct).toBe(500);
    expect(run.score.versionsRead).toBe(run.score.versionsExpected);
    expect(run.engine?.maxInFlight).toBeLessThanOrEqual(200);
    expect(run.peakRssMb).toBeGreaterThan(10);
  }, 120_000);
});
