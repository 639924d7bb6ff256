import { describe, expect, it } from "vitest";
import { adaptiveSettings } from "../../cli/probe-args.ts";
import { AddressSet } from "../../shared/net/ip.ts";
import { DEFAULT_ADAPTIVE_OPTIONS } from "../../shared/probe/adaptive.ts";

describe("scan/watch probe options as the adaptive scheduler's", () => {
  it("makes --timeout-ms the longest connect timeout and passes the rest to every probe", () => {
    const allowedMasters = new AddressSet(["198.51.100.0/24"]);
    const settings = adaptiveSettings({
      concurrency: 64,
      connectTimeoutMs: 2_000,
      deadlineMs: 6_000,
      replyTimeoutMs: 1_500,
      tlsFallback: false,
      allowedMasters,
    });
    expect(settings).toEqual({
      concurrency: 64,
      ceilingMs: 2_000,
      floorMs: DEFAULT_ADAPTIVE_OPTIONS.floorMs,
      initialTimeoutMs: DEFAULT_ADAPTIVE_OPTIONS.initialTimeoutMs,
      probeOptions: { deadlineMs: 6_000, replyTimeoutMs: 1_500, tlsFallback: false, allowedMasters },
    });
  });

  it("never lets the first or shortest timeout exceed a small --timeout-ms", () => {
    const settings = adaptiveSettings({ connectTimeoutMs: 50 });
    expect(settings).toMatchObject({ ceilingMs: 50, floorMs: 50, initialTimeoutMs: 50 });
  });

  it("keeps the scheduler's defaults when nothing is given", () => {
    expect(adaptiveSettings({})).toMatchObject({ ceilingMs: DEFAULT_ADAPTIVE_OPTIONS.ceilingMs, probeOptions: {} });
  });
});
