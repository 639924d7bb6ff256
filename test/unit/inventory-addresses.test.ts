// Which addresses the inventory keeps (shared/net/ip.ts decides what is public) and how it orders them.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressOrderKey, canonicalAddress, compareAddresses } from "../../shared/inventory/address-order.ts";
import { isPublicAddress } from "../../shared/net/ip.ts";

describe("addresses the inventory drops", () => {
  it.each([
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.254",
    "192.0.2.10",
    "198.51.100.1",
    "203.0.113.200",
    "198.18.0.1",
    "198.19.255.1",
    "224.0.0.251",
    "255.255.255.255",
    "0.1.2.3",
    "::1",
    "::",
    "fd12:3456::1",
    "fc00::1",
    "fe80::abcd",
    "2001:db8:1::1",
    "ff02::1",
    "::ffff:10.0.0.1",
    // IPv4 in IPv6 clothing: NAT64, 6to4, IPv4-compatible, IPv4-translated; and the old site-local block.
    "64:ff9b::808:808",
    "64:ff9b::1.1.1.1",
    "2002:c000:204::1",
    "::8.8.8.8",
    "::ffff:0:808:808",
    "fec0::1",
    "feff:ffff::1",
    "not-an-address",
  ])("%s is not a target", (ip) => {
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
    "2003::1",
    "64:ff9c::1",
  ])("%s is kept", (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });
});

describe("address order", () => {
  it("sorts IPv4 numerically before IPv6, and treats two spellings of one IPv6 address as one", () => {
    const sorted = ["2600:1f18::2", "54.240.10.1", "3.80.20.2", "2600:1f18::10", "18.204.5.9"].sort(compareAddresses);
    expect(sorted).toEqual(["3.80.20.2", "18.204.5.9", "54.240.10.1", "2600:1f18::2", "2600:1f18::10"]);
    expect(addressOrderKey("2600:1F18:0:0:0:0:0:1")).toBe(addressOrderKey("2600:1f18::1"));
    expect(canonicalAddress("2600:1F18:0:0:0:0:0:1")).toBe("2600:1f18::1");
    expect(canonicalAddress("54.240.10.1")).toBe("54.240.10.1");
    expect(() => addressOrderKey("nope")).toThrow(/not an IP address/);
  });

  it("orders IPv4 addresses like their 32-bit values (property)", () => {
    const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    fc.assert(
      fc.property(octets, octets, (a, b) => {
        const value = (o: number[]) => ((o[0]! * 256 + o[1]!) * 256 + o[2]!) * 256 + o[3]!;
        expect(Math.sign(compareAddresses(a.join("."), b.join(".")))).toBe(Math.sign(value(a) - value(b)));
      }),
    );
  });

  it("gives every spelling of an IPv6 address the same 32-digit key (property)", () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const key = addressOrderKey(ip);
        expect(key).toMatch(/^6:[0-9a-f]{32}$/);
        expect(addressOrderKey(canonicalAddress(ip))).toBe(key);
      }),
    );
  });
});
