import { describe, expect, it } from "vitest";
import {
  canonicalIpv6,
  MAX_TARGETS,
  parseTarget,
  parseTargets,
  TargetError,
  targetSpecsFromText,
} from "../../shared/probe/targets.ts";

describe("parseTarget", () => {
  it("reads host, host:port and default port", () => {
    expect(parseTarget("203.0.113.10")).toEqual([{ host: "203.0.113.10", port: 6379 }]);
    expect(parseTarget("203.0.113.10:6380")).toEqual([{ host: "203.0.113.10", port: 6380 }]);
    expect(parseTarget("Redis.Example.com:7000")).toEqual([{ host: "redis.example.com", port: 7000 }]);
    expect(parseTarget("localhost", 16379)).toEqual([{ host: "localhost", port: 16379 }]);
  });

  it("reads IPv6 with and without brackets, in canonical form", () => {
    expect(parseTarget("[2001:db8::1]:6380")).toEqual([{ host: "2001:db8::1", port: 6380 }]);
    expect(parseTarget("2001:0db8:0:0:0:0:0:1")).toEqual([{ host: "2001:db8::1", port: 6379 }]);
    expect(parseTarget("[::1]")).toEqual([{ host: "::1", port: 6379 }]);
    expect(canonicalIpv6("2001:DB8::0:1")).toBe("2001:db8::1");
  });

  it("expands IPv4 CIDR blocks, with a port suffix", () => {
    const block = parseTarget("198.51.100.8/30:6380");
    expect(block.map((t) => `${t.host}:${t.port}`)).toEqual([
      "198.51.100.8:6380",
      "198.51.100.9:6380",
      "198.51.100.10:6380",
      "198.51.100.11:6380",
    ]);
    expect(parseTarget("198.51.100.9/30")[0]?.host).toBe("198.51.100.8");
    expect(parseTarget("198.18.0.0/16")).toHaveLength(65536);
    expect(parseTarget("198.51.100.7/32")).toEqual([{ host: "198.51.100.7", port: 6379 }]);
  });

  it("expands IPv6 CIDR blocks", () => {
    const block = parseTarget("2001:db8::ff00/126");
    expect(block.map((t) => t.host)).toEqual(["2001:db8::ff00", "2001:db8::ff01", "2001:db8::ff02", "2001:db8::ff03"]);
    expect(parseTarget("2001:db8::/112")).toHaveLength(65536);
  });

  it.each([
    ["999.1.1.1", /not a valid IPv4 address/],
    ["1.2.3", /not a valid IPv4 address/],
    ["10.0.0.0/8", /too large: IPv4 blocks may be \/16 at most/],
    ["2001:db8::/64", /too large: IPv6 blocks may be \/112 at most/],
    ["10.0.0.0/33", /IPv4 allows 0-32/],
    ["10.0.0.1:0", /bad port/],
    ["10.0.0.1:70000", /bad port/],
    ["10.0.0.1:http", /bad port/],
    ["[2001:db8::1", /missing "]"/],
    ["2001:db8:::1", /not a valid IPv6 address/],
    ["bad_host!", /not a valid host name/],
    ["", /empty target/],
    ["fe80::1%eth0", /zone id/],
    ["[fe80::1%25eth0]:6379", /zone id/],
    ["fe80::/120%lo", /zone id/],
  ])("rejects %j with a one-line message", (spec, message) => {
    expect(() => parseTarget(spec)).toThrow(TargetError);
    expect(() => parseTarget(spec)).toThrow(message);
    try {
      parseTarget(spec);
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });

  it("deduplicates across specifications, keeping order", () => {
    const targets = parseTargets(["203.0.113.2", "203.0.113.0/31", "203.0.113.2:6379"]);
    expect(targets.map((t) => t.host)).toEqual(["203.0.113.2", "203.0.113.0", "203.0.113.1"]);
  });

  it("refuses more than the cap in all, counted across specifications, before anything is returned", () => {
    expect(parseTargets(["203.0.113.0/30", "203.0.113.9"], 6379, 5)).toHaveLength(5);
    expect(() => parseTargets(["203.0.113.0/30", "203.0.113.9", "203.0.113.10"], 6379, 5)).toThrow(
      /more than 5 addresses in all \(at "203\.0\.113\.10"\)/,
    );
    // Four /16 blocks fit the default cap; a fifth does not.
    const blocks = ["198.18.0.0/16", "198.19.0.0/16", "203.0.0.0/16", "192.0.0.0/16"];
    expect(parseTargets(blocks)).toHaveLength(MAX_TARGETS);
    expect(() => parseTargets([...blocks, "198.51.100.0/24"])).toThrow(/more than 262,144 addresses in all/);
  });

  it("quotes a bad specification without its control characters", () => {
    expect(() => parseTarget("\u001b[2J\u001b]0;pwned\u0007bad_host")).toThrow(
      /^"\[2J\]0;pwnedbad_host" is not a valid host name/,
    );
  });

  it("reads target files with comments and blank lines", () => {
    expect(targetSpecsFromText("# fleet\n203.0.113.1\n\n  203.0.113.2:6380  # cache\r\n")).toEqual([
      "203.0.113.1",
      "203.0.113.2:6380",
    ]);
  });
});
