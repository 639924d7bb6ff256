import { describe, expect, it } from "vitest";
import { buildReport } from "../../shared/report/report.ts";
import { median, percentile } from "../../shared/report/stats.ts";
import { formatDuration } from "../../shared/report/time.ts";
import {
  CVE,
  EVENTS_IN_PERIOD,
  EXPECTED_WINDOWS,
  event,
  fixtureInput,
  HOUR,
  PERIOD,
  ROGUE,
  SCANS_IN_PERIOD,
} from "./report-fixture.ts";

describe("exposure windows", () => {
  const report = buildReport(fixtureInput());

  it("finds every window, with true starts, clipped durations and open ends, sorted by start", () => {
    expect(
      report.windows.map(
        ({
          endpoint,
          level,
          start,
          end,
          startedBeforePeriod,
          durationInPeriodMs,
          timeToRemediateMs,
          owner,
          alerts,
          states,
        }) => ({
          endpoint,
          level,
          start,
          end,
          startedBeforePeriod,
          durationInPeriodMs,
          timeToRemediateMs,
          owner,
          alerts,
          states,
        }),
      ),
    ).toEqual(EXPECTED_WINDOWS);
  });

  it("ignores events after the period and windows that closed before it", () => {
    expect(report.windows.find((w) => w.endpoint === "203.0.113.30:6380")?.end).toBeNull();
    expect(report.windows.some((w) => w.endpoint === "203.0.113.40:6379")).toBe(false);
  });

  it("summarises time to remediate over the closed windows (1h, 4h, 6h)", () => {
    expect(report.summary.timeToRemediate).toEqual({ closedWindows: 3, medianMs: 4 * HOUR, p90Ms: 5.6 * HOUR });
  });

  it("counts endpoints, owners and open windows", () => {
    expect(report.summary).toMatchObject({
      endpointsExposed: 6,
      windows: 7,
      openWindows: 4,
      unauthenticatedWindows: 4,
      owners: 4,
      accounts: 2,
      windowsWithoutOwner: 2,
      maxExposedAtOnce: 4,
      openFindings: { critical: 4, high: 2, medium: 0, low: 0, info: 0 },
    });
  });

  it("draws the exposed-endpoint timeline as steps from the period start", () => {
    const at = (h: number) => new Date(Date.parse(PERIOD.from) + h * HOUR).toISOString();
    expect(report.timeline).toEqual([
      { at: at(0), exposed: 4 },
      { at: at(2), exposed: 3 },
      { at: at(5), exposed: 4 },
      { at: at(6), exposed: 3 },
      { at: at(10), exposed: 4 },
      { at: at(14), exposed: 3 },
      { at: at(20), exposed: 4 },
    ]);
  });

  it("lists open findings at the end of the period, most severe first, with first seen and remediation", () => {
    expect(report.openFindings.map((f) => [f.severity, f.endpoint, f.findingId, f.firstSeen])).toEqual([
      ["critical", "203.0.113.60:6379", "exposure:unauthenticated", "2026-02-26T00:00:00.000Z"],
      ["critical", "198.51.100.7:6379", CVE.id, "2026-03-01T20:00:00.000Z"],
      ["critical", "198.51.100.7:6379", "exposure:unauthenticated", "2026-03-01T20:00:00.000Z"],
      ["critical", "198.51.100.7:6379", ROGUE.id, "2026-03-01T22:00:00.000Z"],
      ["high", "203.0.113.50:6379", "exposure:reachable", "2026-02-25T00:00:00.000Z"],
      ["high", "203.0.113.30:6380", "exposure:reachable", "2026-02-27T00:00:00.000Z"],
    ]);
    const [, cve, exposure, rogue, , reachable] = report.openFindings;
    expect(cve!.remediation).toMatch(/Upgrade Redis 7\.2\.4 to 7\.2\.11/);
    expect(exposure!.remediation).toMatch(/Require authentication/);
    expect(exposure!.remediation).toMatch(/i-0ccc/);
    expect(rogue!.remediation).toMatch(/compromised/);
    expect(reachable!.remediation).toMatch(/TCP 6380/);
  });

  it("dates an exposure finding from when its level began, not from the window start", () => {
    const endpoint = "203.0.113.70:6379";
    const events = [
      event({
        endpoint,
        at: "2026-03-01T01:00Z",
        state: "auth-required",
        previous: null,
        alerts: ["newly-internet-facing"],
      }),
      event({
        endpoint,
        at: "2026-03-01T03:00Z",
        state: "open-unauthenticated",
        previous: "auth-required",
        alerts: ["newly-unauthenticated"],
      }),
    ];
    const report = buildReport(fixtureInput({ events, scans: [] }));
    expect(report.windows.map((w) => [w.start, w.level])).toEqual([["2026-03-01T01:00:00.000Z", "unauthenticated"]]);
    expect(report.openFindings.map((f) => [f.findingId, f.firstSeen])).toEqual([
      ["exposure:unauthenticated", "2026-03-01T03:00:00.000Z"],
    ]);
  });

  it("keeps the window's true start when the loader read back to it, and rejects an empty period", () => {
    expect(() => buildReport(fixtureInput({ period: { from: PERIOD.to, to: PERIOD.from } }))).toThrow(/must end after/);
    const onlyLast = buildReport(fixtureInput({ events: EVENTS_IN_PERIOD }));
    // Without the history before `from`, A's closing event opens nothing: the loader must supply it.
    expect(onlyLast.windows.some((w) => w.endpoint === "203.0.113.10:6379")).toBe(false);
  });
});

describe("coverage", () => {
  const { coverage } = buildReport(fixtureInput());

  it("lists every scan of the period with status, accounts, regions and gaps", () => {
    expect(coverage.scans).toHaveLength(21);
    expect(coverage.completedScans).toBe(20);
    expect(coverage.incompleteScans).toBe(1);
    expect(coverage.scansWithGaps).toBe(1);
    const incomplete = coverage.scans.find((s) => s.status === "incomplete")!;
    expect(incomplete).toMatchObject({ scanId: "scan-15", completedAt: null, shardsDone: 3, shards: 4 });
    expect(coverage.scans[0]).toMatchObject({
      accountsRead: ["111111111111", "222222222222"],
      regionsRead: ["eu-west-1", "us-east-1"],
    });
    expect(coverage.scans.find((s) => s.scanId === "scan-12")!.gaps).toEqual([
      { accountId: "333333333333", source: "organizations", error: "AccessDenied: sts:AssumeRole" },
    ]);
  });

  it("finds the longest interval without a completed scan (07:10 to 11:10)", () => {
    expect(coverage.longestWithoutCompletedScan).toEqual({
      from: "2026-03-01T07:10:00.000Z",
      to: "2026-03-01T11:10:00.000Z",
      durationMs: 4 * HOUR,
    });
  });

  it("counts as covered every moment with a completed scan less than two intervals earlier (22h of 24h)", () => {
    expect(coverage.coveredShare).toBe(0.9167);
  });

  it("counts from the period start and to the period end, and covers nothing without scans", () => {
    const none = buildReport(fixtureInput({ scans: [] })).coverage;
    expect(none.longestWithoutCompletedScan.durationMs).toBe(24 * HOUR);
    expect(none.coveredShare).toBe(0);
    const firstOnly = buildReport(fixtureInput({ scans: [SCANS_IN_PERIOD[0]!] })).coverage;
    // completed 00:10: 23h50m until the end; covered 00:10-02:10 only
    expect(firstOnly.longestWithoutCompletedScan).toMatchObject({
      from: "2026-03-01T00:10:00.000Z",
      durationMs: 23 * HOUR + 50 * 60_000,
    });
    expect(firstOnly.coveredShare).toBe(Math.round((2 / 24) * 10_000) / 10_000);
  });
});

describe("percentiles", () => {
  it("interpolates between closest ranks", () => {
    expect(percentile([4000, 1000, 3000, 2000], 50)).toBe(2500);
    expect(percentile([1000, 2000, 3000, 4000], 90)).toBe(3700);
    expect(percentile([1000, 2000, 3000, 4000], 100)).toBe(4000);
    expect(percentile([1000, 2000, 3000, 4000], 0)).toBe(1000);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNull();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe("formatDuration", () => {
  it("prints at most three units", () => {
    expect(formatDuration(0)).toBe("0ms");
    expect(formatDuration(45_000)).toBe("45s");
    expect(formatDuration(4 * HOUR)).toBe("4h");
    expect(formatDuration(86_400_000 + 30 * 60_000)).toBe("1d 0h 30m");
    expect(formatDuration(4 * HOUR + 12_000)).toBe("4h 0m 12s");
    expect(formatDuration(3 * 86_400_000 + 4 * HOUR + 5 * 60_000 + 6000)).toBe("3d 4h 5m");
  });
});
