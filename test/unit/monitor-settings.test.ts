import { describe, expect, it } from "vitest";
import {
  adaptiveSettings,
  CLI_SOCKETS,
  defaultConcurrency,
  openFilesLimit,
  RESERVED_DESCRIPTORS,
} from "../../cli/probe-args.ts";
import { AddressSet } from "../../shared/net/ip.ts";
import { DEFAULT_ADAPTIVE_OPTIONS, DEFAULT_SOCKETS } from "../../shared/probe/adaptive.ts";

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

describe("the default --concurrency", () => {
  const limits = (soft: string) =>
    `Limit                     Soft Limit           Hard Limit           Units     \nMax open files            ${soft}                ${soft}                files     \n`;

  it("reads the open-files limit from /proc/self/limits text", () => {
    expect(openFilesLimit(limits("20000"))).toBe(20_000);
    expect(openFilesLimit(limits("unlimited"))).toBe(Number.POSITIVE_INFINITY);
    expect(openFilesLimit("no such line")).toBeUndefined();
  });

  it("is 1,000 sockets where the limit leaves room for the process's own descriptors", () => {
    expect(defaultConcurrency(20_000)).toBe(CLI_SOCKETS);
    expect(defaultConcurrency(CLI_SOCKETS + RESERVED_DESCRIPTORS)).toBe(CLI_SOCKETS);
    expect(defaultConcurrency(Number.POSITIVE_INFINITY)).toBe(CLI_SOCKETS);
  });

  it("keeps the reserve under a lower limit, and the probe function's default when the limit is unknown", () => {
    expect(defaultConcurrency(1_024)).toBe(DEFAULT_SOCKETS);
    expect(defaultConcurrency(256)).toBe(256 - RESERVED_DESCRIPTORS);
    expect(defaultConcurrency(40)).toBe(1);
    expect(defaultConcurrency(undefined)).toBe(DEFAULT_SOCKETS);
  });
});
