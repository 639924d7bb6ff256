// --exclude/--exclude-file matching (cli/probe-args.ts Exclusions), used for listed targets and for the
// AWS inventory's targets alike: an IP or CIDR block excludes every port, ip:port one endpoint.
import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/args.ts";
import { Exclusions, specsFromTargetsText } from "../../cli/probe-args.ts";

describe("Exclusions", () => {
  const excluded = new Exclusions(["198.51.100.0/24", "203.0.113.10:6380", "[2001:db8::7]:6379", "2001:db8:1::/48"]);

  it.each([
    [{ host: "198.51.100.200", port: 6379 }, true],
    [{ host: "198.51.101.1", port: 6379 }, false],
    [{ host: "203.0.113.10", port: 6380 }, true],
    [{ host: "203.0.113.10", port: 6379 }, false],
    [{ host: "2001:db8::7", port: 6379 }, true],
    [{ host: "2001:db8::7", port: 6380 }, false],
    [{ host: "2001:db8:1::99", port: 1 }, true],
    [{ host: "redis.example.com", port: 6379 }, false],
  ])("%j excluded: %s", (target, expected) => {
    expect(excluded.excludes(target)).toBe(expected);
  });

  it("refuses what is not an address, block or endpoint", () => {
    expect(() => new Exclusions(["not-an-ip"])).toThrow(UsageError);
  });
});

describe("targets lists with JSON lines", () => {
  it("takes inventory and probe JSON lines as host and port, keeping '#' inside JSON", () => {
    const text = [
      '{"host":"2001:db8::7","port":6379,"asset":{"tags":{"note":"#1"}}}',
      '{"ip":"203.0.113.10","port":6380,"target":"203.0.113.10:6380"}',
      "198.51.100.7 # plain",
    ].join("\n");
    expect(specsFromTargetsText(text)).toEqual(["198.51.100.7", "[2001:db8::7]:6379", "203.0.113.10:6380"]);
    expect(() => specsFromTargetsText('{"host":"203.0.113.10"}')).toThrow(/needs "host" \(or "ip"\) and "port"/);
  });
});
