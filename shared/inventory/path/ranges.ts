// Sets of source addresses as sorted, disjoint ranges of one address family, so the path
// resolver can follow "which public sources are still admitted" through security groups,
// network ACL entries (first match wins) and routes (longest prefix wins) exactly
// (docs/readme-path.md, "How the verdict is reached").
import { isIP } from "node:net";
import type { IpFamily } from "../../net/ip.ts";

/** Inclusive [first, last] address ranges, sorted and disjoint. */
export type RangeSet = ReadonlyArray<readonly [bigint, bigint]>;

const BITS: Record<IpFamily, number> = { ipv4: 32, ipv6: 128 };

function ipv4Value(address: string): bigint {
  return address.split(".").reduce((value, part) => (value << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Value(address: string): bigint {
  let text = address;
  // A trailing dotted quad ("::ffff:1.2.3.4") is two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4Value(dotted[1]!);
    text = `${text.slice(0, -dotted[1]!.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...new Array(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group || "0", 16)), 0n);
}

/** The numeric value of an address literal, with its family; null when it is not one. */
export function addressValue(address: string): { family: IpFamily; value: bigint } | null {
  const version = isIP(address);
  if (version === 4) return { family: "ipv4", value: ipv4Value(address) };
  if (version === 6) return { family: "ipv6", value: ipv6Value(address) };
  return null;
}

/** "10.0.0.0/8" -> its range and family; null when it is not a CIDR block. */
export function cidrRange(cidr: string): { family: IpFamily; range: readonly [bigint, bigint]; prefix: number } | null {
  const slash = cidr.indexOf("/");
  if (slash === -1) return null;
  const parsed = addressValue(cidr.slice(0, slash));
  const prefix = Number(cidr.slice(slash + 1));
  if (parsed === null || !Number.isInteger(prefix) || prefix < 0 || prefix > BITS[parsed.family]) return null;
  const hostBits = BigInt(BITS[parsed.family] - prefix);
  const first = (parsed.value >> hostBits) << hostBits;
  return { family: parsed.family, range: [first, first + (1n << hostBits) - 1n], prefix };
}

export function normalize(ranges: Iterable<readonly [bigint, bigint]>): RangeSet {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [first, last] of sorted) {
    const previous = out.at(-1);
    if (previous && first <= previous[1] + 1n) {
      if (last > previous[1]) previous[1] = last;
    } else out.push([first, last]);
  }
  return out;
}

export function union(a: RangeSet, b: RangeSet): RangeSet {
  return normalize([...a, ...b]);
}

export function intersect(a: RangeSet, b: RangeSet): RangeSet {
  const out: [bigint, bigint][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const first = a[i]![0] > b[j]![0] ? a[i]![0] : b[j]![0];
    const last = a[i]![1] < b[j]![1] ? a[i]![1] : b[j]![1];
    if (first <= last) out.push([first, last]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

export function subtract(a: RangeSet, b: RangeSet): RangeSet {
  const out: [bigint, bigint][] = [];
  for (const [first, last] of a) {
    let start = first;
    for (const [bFirst, bLast] of b) {
      if (bLast < start || bFirst > last) continue;
      if (bFirst > start) out.push([start, bFirst - 1n]);
      start = bLast + 1n;
      if (start > last) break;
    }
    if (start <= last) out.push([start, last]);
  }
  return out;
}

export function isEmpty(set: RangeSet): boolean {
  return set.length === 0;
}

export function sameSet(a: RangeSet, b: RangeSet): boolean {
  return a.length === b.length && a.every((range, index) => range[0] === b[index]![0] && range[1] === b[index]![1]);
}

/** The set of one CIDR block of `family`; empty for another family or an unparsable block. */
export function cidrSet(cidr: string | undefined, family: IpFamily): RangeSet {
  if (!cidr) return [];
  const parsed = cidrRange(cidr);
  return parsed && parsed.family === family ? [parsed.range] : [];
}

/**
 * Every source on the internet: IPv4 without private, shared, loopback, link-local, documentation,
 * multicast and reserved blocks; IPv6 global unicast (2000::/3) without documentation space.
 */
const NOT_INTERNET_V4 = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/3",
];
const NOT_INTERNET_V6 = ["2001:db8::/32", "3fff::/20"];

export const INTERNET: Record<IpFamily, RangeSet> = {
  ipv4: subtract(cidrSet("0.0.0.0/0", "ipv4"), normalize(NOT_INTERNET_V4.flatMap((cidr) => cidrSet(cidr, "ipv4")))),
  ipv6: subtract(cidrSet("2000::/3", "ipv6"), normalize(NOT_INTERNET_V6.flatMap((cidr) => cidrSet(cidr, "ipv6")))),
};
