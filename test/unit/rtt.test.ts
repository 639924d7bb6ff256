// Round-trip estimation (shared/probe/rtt.ts): groups, samples and the connect timeouts they give.
import { describe, expect, it } from "vitest";
import { exposureOf, type ProbeResult, type ProbeState, type Target } from "../../shared/exposure/model.ts";
import { clampTimeout, networkGroup, RoundTrips, RttSamples, rttSampleOf } from "../../shared/probe/rtt.ts";

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

describe("round-trip estimation", () => {
  it("groups addresses by /24 and /48", () => {
    expect(networkGroup("198.18.7.9")).toBe("198.18.7");
    expect(networkGroup("2001:db8:1:2::5")).toBe("2001:db8:1::/48");
    expect(networkGroup("redis.example.com")).toBe("redis.example.com");
  });

  it("takes round trips from answers only, a server exchange as three", () => {
    const target = { host: "198.18.0.1", port: 6379 };
    expect(rttSampleOf(result(target, "filtered", 100))).toBeNull();
    expect(rttSampleOf(result(target, "closed", 12))).toBe(12);
    expect(rttSampleOf(result(target, "auth-required", 30))).toBe(10);
    // Time this process stood still is taken out: the answer only waited for us.
    expect(rttSampleOf(result(target, "closed", 312), 300)).toBe(12);
  });

  it("bases a group's timeout on its fastest answer, the rest on a percentile of all", () => {
    const samples = new RttSamples();
    for (const ms of [50, 10, 30, 20, 40, 2_000]) samples.add(ms);
    const options = { floorMs: 25, ceilingMs: 1_000, rttMultiplier: 4 };
    expect(samples.groupTimeoutMs(options)).toBe(40);
    expect(samples.overallTimeoutMs(options)).toBe(80); // the 25th percentile of six samples is 20
    expect(samples.overallTimeoutMs({ ...options, overallPercentile: 0.5 })).toBe(160);
    expect(new RttSamples().groupTimeoutMs(options)).toBeNull();
    expect(clampTimeout(5, options)).toBe(25);
    expect(clampTimeout(50_000, options)).toBe(1_000);
  });

  it("gives the initial timeout before any answer, then the group's, else everyone's, growing per attempt", () => {
    const roundTrips = new RoundTrips({
      floorMs: 20,
      ceilingMs: 1_000,
      rttMultiplier: 4,
      initialTimeoutMs: 500,
      attemptGrowth: 2,
      overallPercentile: 0.25,
      groupOf: networkGroup,
    });
    expect(roundTrips.measured).toBe(false);
    expect(roundTrips.timeoutMs("198.18.1.1", 0)).toBe(500);
    roundTrips.add("198.18.1.7", 10);
    roundTrips.add("198.18.2.7", 60);
    expect(roundTrips.measured).toBe(true);
    expect(roundTrips.timeoutMs("198.18.1.1", 0)).toBe(40); // its /24's fastest answer x 4
    expect(roundTrips.timeoutMs("198.18.1.1", 1)).toBe(80); // the second attempt gets twice as long
    expect(roundTrips.timeoutMs("198.18.9.1", 0)).toBe(40); // no answer from its /24: everyone's
    expect(roundTrips.timeoutMs("198.18.2.1", 5)).toBe(1_000); // never past the ceiling
  });
});
