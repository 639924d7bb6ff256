import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressKey, compareAddresses, isPublicAddress, reservedRangeOf } from "../../shared/net/ip-ranges.ts";

describe("isPublicAddress", () => {
  it.each([
    ["10.0.0.1", "private (RFC 1918)"],
    ["172.16.0.1", "private (RFC 1918)"],
    ["172.31.255.255", "private (RFC 1918)"],
    ["192.168.1.1", "private (RFC 1918)"],
    ["127.0.0.1", "loopback"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "shared address space / CGNAT (RFC 6598)"],
    ["100.127.255.254", "shared address space / CGNAT (RFC 6598)"],
    ["192.0.2.10", "documentation (TEST-NET-1)"],
    ["198.51.100.1", "documentation (TEST-NET-2)"],
    ["203.0.113.200", "documentation (TEST-NET-3)"],
    ["198.18.0.1", "benchmarking"],
    ["198.19.255.1", "benchmarking"],
    ["224.0.0.251", "multicast"],
    ["255.255.255.255", "reserved (includes broadcast)"],
    ["0.1.2.3", "this network"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fd12:3456::1", "unique local (ULA)"],
    ["fc00::1", "unique local (ULA)"],
    ["fe80::abcd", "link-local"],
    ["2001:db8:1::1", "documentation"],
    ["3fff:0:1::1", "documentation (RFC 9637)"],
    ["ff02::1", "multicast"],
    ["::ffff:10.0.0.1", "IPv4-mapped"],
    ["64:ff9b::a00:1", "NAT64 well-known prefix"],
  ])("%s is reserved (%s)", (ip, name) => {
    expect(reservedRangeOf(ip)).toBe(name);
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each([
    "3.80.20.2",
    "54.240.10.1",
    "172.32.0.1",
    "100.128.0.1",
    "192.0.3.1",
    "198.20.0.1",
    "2600:1f18::1",
    "2a05:d018::5",
  ])("%s is public", (ip) => {
    expect(reservedRangeOf(ip)).toBeNull();
    expect(isPublicAddress(ip)).toBe(true);
  });

  it("rejects what is not an IP address", () => {
    expect(isPublicAddress("example.com")).toBe(false);
    expect(isPublicAddress("")).toBe(false);
    expect(isPublicAddress("54.240.10.256")).toBe(false);
    expect(() => reservedRangeOf("nope")).toThrow(/not an IP address/);
  });
});

describe("addressKey and compareAddresses", () => {
  it("sorts IPv4 numerically before IPv6, and treats two spellings of one IPv6 address as one", () => {
    const sorted = ["2600:1f18::2", "54.240.10.1", "3.80.20.2", "2600:1f18::10", "18.204.5.9"].sort(compareAddresses);
    expect(sorted).toEqual(["3.80.20.2", "18.204.5.9", "54.240.10.1", "2600:1f18::2", "2600:1f18::10"]);
    expect(addressKey("2600:1F18:0:0:0:0:0:1")).toBe(addressKey("2600:1f18::1"));
    expect(addressKey("::ffff:1.2.3.4")).toBe(addressKey("::ffff:102:304"));
  });

  it("orders IPv4 addresses like their 32-bit values (property)", () => {
    const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    fc.assert(
      fc.property(octets, octets, (a, b) => {
        const value = (o: number[]) => ((o[0]! * 256 + o[1]!) * 256 + o[2]!) * 256 + o[3]!;
        const sign = Math.sign(compareAddresses(a.join("."), b.join(".")));
        expect(sign).toBe(Math.sign(value(a) - value(b)));
      }),
    );
  });

  it("gives every IPv6 spelling a 32-digit key (property)", () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        expect(addressKey(ip)).toMatch(/^6:[0-9a-f]{32}$/);
      }),
    );
  });
});
