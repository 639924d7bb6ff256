// IP address helpers shared by target parsing, the inventory and the compromise indicators.
// Built on node:net (isIP, BlockList) so there is no hand-rolled address arithmetic to get wrong.
import { BlockList, isIP } from "node:net";

/** Canonical (RFC 5952, compressed, lowercase) text of an IPv6 address. */
export function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

export type IpFamily = "ipv4" | "ipv6";

export function ipFamily(address: string): IpFamily | null {
  const version = isIP(address);
  return version === 4 ? "ipv4" : version === 6 ? "ipv6" : null;
}

/** Ranges that are never a public internet address: private, loopback, link-local, CGNAT, documentation, benchmark, multicast, reserved. */
const NON_PUBLIC_RANGES: Array<[string, number, IpFamily]> = [
  ["0.0.0.0", 8, "ipv4"],
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"],
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.0.0.0", 24, "ipv4"],
  ["192.0.2.0", 24, "ipv4"],
  ["192.88.99.0", 24, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["198.18.0.0", 15, "ipv4"],
  ["198.51.100.0", 24, "ipv4"],
  ["203.0.113.0", 24, "ipv4"],
  ["224.0.0.0", 4, "ipv4"],
  ["240.0.0.0", 4, "ipv4"],
  // IPv4-compatible (deprecated; holds :: and ::1 too) and IPv4-translated (SIIT) addresses: an IPv4
  // address in IPv6 clothing, never a host of its own on the IPv6 internet.
  ["::", 96, "ipv6"],
  ["::ffff:0:0:0", 96, "ipv6"],
  // No "::ffff:0:0/96" (IPv4-mapped): BlockList checks IPv4 addresses against it, so it would match every IPv4
  // address. Mapped addresses are matched against the IPv4 ranges above instead.
  // NAT64 (well-known and local-use prefixes) and 6to4: they lead to an IPv4 host through a translator.
  ["64:ff9b::", 96, "ipv6"],
  ["64:ff9b:1::", 48, "ipv6"],
  ["2002::", 16, "ipv6"],
  ["100::", 64, "ipv6"],
  ["2001:db8::", 32, "ipv6"],
  ["3fff::", 20, "ipv6"],
  ["fc00::", 7, "ipv6"],
  ["fe80::", 10, "ipv6"],
  ["fec0::", 10, "ipv6"], // site-local (deprecated)
  ["ff00::", 8, "ipv6"],
];

/** Ranges used for replication inside an organization's own networks: normal for a replica's master. */
const PRIVATE_RANGES: Array<[string, number, IpFamily]> = [
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"],
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["::1", 128, "ipv6"],
  ["fc00::", 7, "ipv6"],
  ["fe80::", 10, "ipv6"],
];

function blockListOf(ranges: Array<[string, number, IpFamily]>): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

const nonPublic = blockListOf(NON_PUBLIC_RANGES);
const privateNetworks = blockListOf(PRIVATE_RANGES);

/** True for an address that can be reached from the internet (not private, reserved or documentation). */
export function isPublicAddress(address: string): boolean {
  const family = ipFamily(address);
  if (!family) return false;
  return !nonPublic.check(address, family);
}

/** True for RFC 1918, CGNAT, loopback, link-local and IPv6 ULA/link-local: where internal replication lives. */
export function isPrivateAddress(address: string): boolean {
  const family = ipFamily(address);
  if (!family) return false;
  return privateNetworks.check(address, family);
}

/** A set of addresses and CIDR blocks ("203.0.113.7", "198.51.100.0/24", "2001:db8::/48"). */
export class AddressSet {
  readonly #list = new BlockList();

  constructor(entries: Iterable<string> = []) {
    for (const entry of entries) this.add(entry);
  }

  add(entry: string): void {
    const [network = "", prefixText] = entry.trim().split("/");
    const family = ipFamily(network);
    if (!family) throw new Error(`not an IP address or CIDR block: "${entry}"`);
    if (prefixText === undefined) {
      this.#list.addAddress(network, family);
      return;
    }
    const prefix = Number(prefixText);
    const max = family === "ipv4" ? 32 : 128;
    if (!/^\d+$/.test(prefixText) || prefix > max) throw new Error(`bad prefix length in "${entry}"`);
    this.#list.addSubnet(network, prefix, family);
  }

  has(address: string): boolean {
    const family = ipFamily(address);
    return family ? this.#list.check(address, family) : false;
  }
}
