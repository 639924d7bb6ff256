// The adaptive scheduler against a simulated network: the probe function is replaced by one that
// answers from a table (state, round trip, which attempts get lost), so every decision the
// scheduler makes (timeouts, retries, passes, confirmations, socket bound) is checked exactly.
import { describe, expect, it } from "vitest";
import {
  exposureOf,
  type ProbeOutcome,
  type ProbeResult,
  type ProbeState,
  type Target,
} from "../../shared/exposure/model.ts";
import { type AdaptiveOptions, emptyStats, type ProbeFunction } from "../../shared/probe/adaptive.ts";
import { probeAdaptive } from "../../shared/probe/scheduler.ts";

interface SimEndpoint {
  state: ProbeState;
  rttMs: number;
  /** Attempt numbers (1-based) whose packets are lost: the attempt times out. */
  lost?: number[];
  /** Answers only when the connect timeout is at least this long (a slow path). */
  needsTimeoutMs?: number;
  /** What the first attempt says instead of `state` (a reply lost on the way, say). */
  firstState?: ProbeState;
}

interface Call {
  host: string;
  attempt: number;
  connectTimeoutMs: number;
}

function simulate(endpoints: Map<string, SimEndpoint>) {
  const calls: Call[] = [];
  const attempts = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const probe: ProbeFunction = async (target, options) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const attempt = (attempts.get(target.host) ?? 0) + 1;
    attempts.set(target.host, attempt);
    const connectTimeoutMs = options.connectTimeoutMs ?? Number.NaN;
    calls.push({ host: target.host, attempt, connectTimeoutMs });
    await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
    const endpoint = endpoints.get(target.host);
    if (!endpoint) throw new Error(`unknown host ${target.host}`);
    const silent =
      endpoint.state === "filtered" ||
      (endpoint.lost ?? []).includes(attempt) ||
      (endpoint.needsTimeoutMs !== undefined && connectTimeoutMs < endpoint.needsTimeoutMs);
    const state: ProbeState = silent
      ? "filtered"
      : attempt === 1 && endpoint.firstState
        ? endpoint.firstState
        : endpoint.state;
    const durationMs = silent ? connectTimeoutMs : endpoint.rttMs;
    return result(target, state, durationMs);
  };
  return { probe, calls, maxInFlight: () => maxInFlight };
}

function result(target: Target, state: ProbeState, durationMs: number): ProbeResult {
  return {
    target: `${target.host}:${target.port}`,
    ip: target.host,
    port: target.port,
    state,
    exposure: exposureOf(state),
    tls: false,
    protocol: { name: "redis" },
    findings: [],
    reply: "",
    durationMs,
    observedAt: new Date(0).toISOString(),
  };
}

/** A stall clock that reports a stall of `ms` over every span (0: this process always got to run). */
const alwaysStalled = (ms: number) => ({ maxStallBetween: () => ms, stalledMsBetween: () => 0, start() {}, stop() {} });

// Simulated attempts take no real time, so the real event-loop watch is replaced by a calm one.
const FAST: Partial<AdaptiveOptions> = {
  initialTimeoutMs: 50,
  floorMs: 100,
  ceilingMs: 3_000,
  stalls: alwaysStalled(0),
};

async function runAll(endpoints: Map<string, SimEndpoint>, options: Partial<AdaptiveOptions> = {}) {
  const sim = simulate(endpoints);
  const stats = emptyStats();
  const targets = [...endpoints.keys()].map((host) => ({ host, port: 6379 }));
  const results: ProbeResult[] = [];
  for await (const r of probeAdaptive(targets, { ...FAST, ...options }, {}, sim.probe, stats)) {
    if (r.state === "probe-error") throw new Error(`unexpected probe error: ${r.reply}`);
    results.push(r);
  }
  const byHost = new Map(results.map((r) => [r.ip, r]));
  return { results, byHost, stats, calls: sim.calls, maxInFlight: sim.maxInFlight() };
}

/** A deterministic generator so "random" loss is the same on every run. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("adaptive scheduler", () => {
  it("reports every target exactly once, with the state its endpoint has", async () => {
    const endpoints = new Map<string, SimEndpoint>();
    const states: ProbeState[] = ["filtered", "closed", "open-unauthenticated", "auth-required", "filtered"];
    for (let i = 0; i < 250; i++)
      endpoints.set(`198.18.${i % 7}.${i + 1}`, { state: states[i % states.length] as ProbeState, rttMs: 3 });
    const { results, byHost } = await runAll(endpoints);
    expect(results).toHaveLength(endpoints.size);
    for (const [host, endpoint] of endpoints) expect(byHost.get(host)?.state).toBe(endpoint.state);
  });

  it("never runs more probes at once than the concurrency allows", async () => {
    const endpoints = new Map<string, SimEndpoint>();
    for (let i = 0; i < 600; i++)
      endpoints.set(`198.19.${Math.floor(i / 200)}.${(i % 200) + 1}`, {
        state: i % 3 ? "filtered" : "closed",
        rttMs: 2,
      });
    const { maxInFlight, stats } = await runAll(endpoints, { concurrency: 37, launchesPerTick: 10 });
    expect(maxInFlight).toBeLessThanOrEqual(37);
    expect(stats.maxInFlight).toBeLessThanOrEqual(37);
    expect(stats.maxInFlight).toBeGreaterThan(10);
  });

  it("tries every silent endpoint twice, and no more when nothing was ever lost", async () => {
    const endpoints = new Map<string, SimEndpoint>();
    for (let i = 1; i <= 200; i++) endpoints.set(`198.18.2.${i}`, { state: i % 2 ? "filtered" : "closed", rttMs: 2 });
    const { calls, stats } = await runAll(endpoints);
    const filtered = calls.filter((call) => Number(call.host.split(".")[3]) % 2 === 1);
    expect(new Set(filtered.map((c) => c.attempt))).toEqual(new Set([1, 2]));
    expect(stats.attemptsByPass).toEqual([200, 100]);
    expect(stats.recovered).toBe(0);
  });

  it("finds an endpoint whose first SYN was lost, on the retry", async () => {
    const endpoints = new Map<string, SimEndpoint>([
      ["198.18.3.1", { state: "open-unauthenticated", rttMs: 2, lost: [1] }],
      ["198.18.3.2", { state: "closed", rttMs: 2 }],
      ["198.18.3.3", { state: "filtered", rttMs: 2 }],
    ]);
    const { byHost, stats } = await runAll(endpoints);
    expect(byHost.get("198.18.3.1")?.state).toBe("open-unauthenticated");
    expect(stats.recovered).toBe(1);
    expect(stats.recoveredByPass).toEqual([0, 1]);
  });

  it("runs more passes while the loss it measures could still hide answering endpoints", async () => {
    const random = lcg(42);
    const endpoints = new Map<string, SimEndpoint>();
    for (let i = 0; i < 2_000; i++) {
      const answering = i % 4 === 0;
      const lost = [1, 2, 3, 4, 5].filter(() => random() < 0.2);
      endpoints.set(`198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`, {
        state: answering ? "closed" : "filtered",
        rttMs: 4,
        lost,
      });
    }
    const { byHost, stats } = await runAll(endpoints, { maxAttempts: 6 });
    expect(stats.attemptsByPass.length).toBeGreaterThan(2);
    expect(stats.silenceRate).toBeGreaterThan(0.1);
    let missed = 0;
    for (const [host, endpoint] of endpoints) if (byHost.get(host)?.state !== endpoint.state) missed++;
    // 500 answering endpoints, 20% loss per attempt: after 5 attempts about 0.16 expected misses.
    expect(missed).toBeLessThanOrEqual(1);
  });

  it("times out silent endpoints after a multiple of their group's round trip, within floor and ceiling", async () => {
    const endpoints = new Map<string, SimEndpoint>();
    // Group 198.18.10.0/24 answers in 5 ms (timeout at the floor), 198.18.20.0/24 in 200 ms (4 x 200).
    for (let i = 1; i <= 40; i++) endpoints.set(`198.18.10.${i}`, { state: i <= 5 ? "closed" : "filtered", rttMs: 5 });
    for (let i = 1; i <= 40; i++)
      endpoints.set(`198.18.20.${i}`, { state: i <= 5 ? "closed" : "filtered", rttMs: 200 });
    const sim = simulate(endpoints);
    const targets = [
      ...[1, 2, 3, 4, 5].flatMap((i) => [`198.18.10.${i}`, `198.18.20.${i}`]),
      ...[...endpoints.keys()].filter((h) => Number(h.split(".")[3]) > 5),
    ].map((host) => ({ host, port: 6379 }));
    const out: ProbeOutcome[] = [];
    for await (const r of probeAdaptive(targets, { ...FAST, initialWindow: 10, launchesPerTick: 10 }, {}, sim.probe))
      out.push(r);
    const firstTimeouts = (subnet: string) =>
      new Set(
        sim.calls
          .filter((c) => c.host.startsWith(subnet) && c.attempt === 1 && Number(c.host.split(".")[3]) > 5)
          .map((c) => c.connectTimeoutMs),
      );
    expect(firstTimeouts("198.18.10.")).toEqual(new Set([100]));
    expect(firstTimeouts("198.18.20.")).toEqual(new Set([800]));
    // The retry waits longer than the first attempt (attemptGrowth), never beyond the ceiling.
    const retries = sim.calls.filter((c) => c.host.startsWith("198.18.20.") && c.attempt === 2);
    expect(new Set(retries.map((c) => c.connectTimeoutMs))).toEqual(new Set([1_200]));
  });

  it("starts with a small window at the initial timeout until a round trip is measured", async () => {
    const endpoints = new Map<string, SimEndpoint>();
    for (let i = 1; i <= 120; i++)
      endpoints.set(`198.18.30.${i}`, { state: i === 1 ? "closed" : "filtered", rttMs: 3 });
    const { calls } = await runAll(endpoints, {
      initialWindow: 8,
      initialTimeoutMs: 700,
      launchesPerTick: 100,
      concurrency: 100,
    });
    const first = calls.slice(0, 8);
    expect(first.every((c) => c.connectTimeoutMs === 700)).toBe(true);
    // After the first answer, the rest get the measured timeout (floor), not the initial one.
    expect(calls[20]?.connectTimeoutMs).toBe(100);
  });

  it("retries silences while stalls of this process leave the loss unknown, up to maxAttempts", async () => {
    const endpoints = new Map<string, SimEndpoint>();
    // 200 answering endpoints with no loss: after two attempts nothing is expected to hide.
    for (let i = 1; i <= 200; i++) endpoints.set(`198.18.40.${i}`, { state: "closed", rttMs: 2 });
    endpoints.set("198.18.40.250", { state: "filtered", rttMs: 2 });
    const stalled = await runAll(endpoints, { maxAttempts: 4, stalls: alwaysStalled(5_000) });
    expect(stalled.calls.filter((c) => c.host === "198.18.40.250")).toHaveLength(4);
    // Every attempt overlapped a stall: none counts for the loss estimate, which stays at "unknown".
    expect(stalled.stats.silenceRate).toBe(1);
    const calm = await runAll(endpoints, { maxAttempts: 4, stalls: alwaysStalled(0) });
    expect(calm.calls.filter((c) => c.host === "198.18.40.250")).toHaveLength(2);
    expect(calm.stats.lateSilences).toBe(0);
  });

  it("estimates packet loss only from attempts that overlapped no stall", async () => {
    const endpoints = new Map<string, SimEndpoint>();
    for (let i = 1; i <= 200; i++)
      endpoints.set(`198.18.41.${i}`, { state: "closed", rttMs: 2, lost: i <= 20 ? [1] : [] });
    // The first pass runs during a stall (every attempt started before the first retry overlaps it).
    let retriesFrom = Number.POSITIVE_INFINITY;
    const firstPassStalled = {
      maxStallBetween: (from: number) => (from < retriesFrom ? 5_000 : 0),
      stalledMsBetween: () => 0,
      start() {},
      stop() {},
    };
    const sim = simulate(endpoints);
    const probe: ProbeFunction = (target, options, context) => {
      if (sim.calls.some((c) => c.attempt === 2)) retriesFrom = Math.min(retriesFrom, performance.now());
      return sim.probe(target, options, context);
    };
    const stats = emptyStats();
    const targets = [...endpoints.keys()].map((host) => ({ host, port: 6379 }));
    for await (const _ of probeAdaptive(targets, { ...FAST, stalls: firstPassStalled }, {}, probe, stats)) void _;
    const calm = await runAll(endpoints);
    expect(stats.recovered).toBe(20);
    expect(calm.stats.recovered).toBe(20);
    // Calm: 20 silent out of 220 attempts. Stalled first pass: only the 20 calm retries count, all answered.
    expect(calm.stats.silenceRate).toBeGreaterThan(0.09);
    expect(stats.silenceRate).toBeLessThan(0.06);
  });

  it("looks again at an endpoint that accepted and said nothing, and keeps what has bytes", async () => {
    const endpoints = new Map<string, SimEndpoint>([
      ["198.18.45.1", { state: "busy", firstState: "dropped", rttMs: 2 }],
      ["198.18.45.2", { state: "dropped", rttMs: 2 }],
      ["198.18.45.3", { state: "dropped", rttMs: 2, lost: [2, 3, 4, 5] }],
      ["198.18.45.4", { state: "closed", rttMs: 2 }],
    ]);
    const { byHost, calls, stats } = await runAll(endpoints);
    expect(byHost.get("198.18.45.1")?.state).toBe("busy");
    expect(byHost.get("198.18.45.2")?.state).toBe("dropped");
    // The second look was lost: the endpoint did accept, so it stays dropped rather than filtered.
    expect(byHost.get("198.18.45.3")?.state).toBe("dropped");
    expect(calls.filter((c) => c.host === "198.18.45.2")).toHaveLength(2);
    expect(calls.filter((c) => c.host === "198.18.45.4")).toHaveLength(1);
    expect(stats.droppedRechecks).toBe(3);
  });

  it("confirms at the ceiling an endpoint that was exposed before, so a slow answer is not lost", async () => {
    const endpoints = new Map<string, SimEndpoint>([
      ["198.18.50.1", { state: "auth-required", rttMs: 2, needsTimeoutMs: 2_500 }],
      ["198.18.50.2", { state: "filtered", rttMs: 2 }],
      ["198.18.50.3", { state: "closed", rttMs: 2 }],
    ]);
    const previous = new Map([
      ["198.18.50.1", "reachable" as const],
      ["198.18.50.2", "none" as const],
    ]);
    const { byHost, calls, stats } = await runAll(endpoints, { previousExposure: (t) => previous.get(t.host) });
    expect(byHost.get("198.18.50.1")?.state).toBe("auth-required");
    expect(calls.filter((c) => c.host === "198.18.50.1").at(-1)?.connectTimeoutMs).toBe(3_000);
    expect(calls.filter((c) => c.host === "198.18.50.2").every((c) => c.connectTimeoutMs < 3_000)).toBe(true);
    expect(stats.confirmations).toBe(1);
  });

  it("still reports a target whose probe throws, as a probe error (the prober failed, not the target)", async () => {
    const probe: ProbeFunction = async (target) => {
      if (target.host === "198.18.60.2") throw new Error("boom");
      return result(target, "closed", 1);
    };
    const out: ProbeOutcome[] = [];
    const targets = ["198.18.60.1", "198.18.60.2"].map((host) => ({ host, port: 6379 }));
    for await (const r of probeAdaptive(targets, FAST, {}, probe)) out.push(r);
    expect(out.map((r) => [r.ip, r.state, r.exposure]).sort()).toEqual([
      ["198.18.60.1", "closed", "none"],
      ["198.18.60.2", "probe-error", null],
    ]);
    expect(out.find((r) => r.ip === "198.18.60.2")?.reply).toContain("boom");
  });

  it("builds a failed probe's result with the endpoint named as everywhere, an IPv6 endpoint in brackets", async () => {
    const probe: ProbeFunction = async () => {
      throw new Error("boom");
    };
    const out: ProbeOutcome[] = [];
    for await (const r of probeAdaptive([{ host: "2001:db8::7", port: 6380 }], FAST, {}, probe)) out.push(r);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      target: "[2001:db8::7]:6380",
      ip: "2001:db8::7",
      port: 6380,
      state: "probe-error",
      exposure: null,
      probeError: { code: "EPROBE" },
    });
  });

  it("finishes a probe error at once: no retry, no round-trip sample", async () => {
    let calls = 0;
    const probe: ProbeFunction = async (target) => {
      calls++;
      if (target.host === "198.18.61.1") {
        return {
          target: `${target.host}:6379`,
          ip: target.host,
          port: 6379,
          state: "probe-error",
          exposure: null,
          probeError: { code: "EMFILE", reason: "out of file descriptors" },
          reply: "(probe error: out of file descriptors)",
          durationMs: 0,
          observedAt: new Date().toISOString(),
        };
      }
      return result(target, "closed", 1);
    };
    const stats = emptyStats();
    const out: ProbeOutcome[] = [];
    const targets = ["198.18.61.1", "198.18.61.2"].map((host) => ({ host, port: 6379 }));
    for await (const r of probeAdaptive(targets, FAST, {}, probe, stats)) out.push(r);
    expect(out.map((r) => [r.ip, r.state]).sort()).toEqual([
      ["198.18.61.1", "probe-error"],
      ["198.18.61.2", "closed"],
    ]);
    expect(calls).toBe(2);
  });

  it("gives each probe the long timeout for a TLS handshake, whatever its connect timeout", async () => {
    const seen: Array<{ connect?: number; handshake?: number }> = [];
    const probe: ProbeFunction = async (target, options) => {
      seen.push({ connect: options.connectTimeoutMs, handshake: options.handshakeTimeoutMs });
      return result(target, "closed", 1);
    };
    const single = [{ host: "198.18.62.1", port: 6379 }];
    for await (const _ of probeAdaptive(single, { ...FAST, ceilingMs: 2_500 }, {}, probe)) {
      // drain
    }
    expect(seen[0]?.handshake).toBe(2_500);
    expect(seen[0]?.connect).toBeLessThan(2_500);
  });

  it("rejects settings that cannot work", async () => {
    const run = (options: Partial<AdaptiveOptions>) =>
      probeAdaptive([{ host: "198.18.0.1", port: 6379 }], options).next();
    await expect(run({ concurrency: 0 })).rejects.toThrow(/concurrency/);
    await expect(run({ minAttempts: 3, maxAttempts: 2 })).rejects.toThrow(/minAttempts/);
  });
});
