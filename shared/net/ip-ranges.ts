// Which IP addresses can be reached from the internet at all. Cloud APIs report private,
// shared and reserved addresses next to public ones; only public ones become targets.
import { BlockList, isIP } from "node:net";

/** Special-purpose ranges (IANA IPv4/IPv6 special-purpose registries) that are never internet targets. */
export const RESERVED_RANGES: ReadonlyArray<{ cidr: string; name: string }> = [
  { cidr: "0.0.0.0/8", name: "this network" },
  { cidr: "10.0.0.0/8", name: "private (RFC 1918)" },
  { cidr: "100.64.0.0/10", name: "shared address space / CGNAT (RFC 6598)" },
  { cidr: "127.0.0.0/8", name: "loopback" },
  { cidr: "169.254.0.0/16", name: "link-local" },
  { cidr: "172.16.0.0/12", name: "private (RFC 1918)" },
  { cidr: "192.0.0.0/24", name: "IETF protocol assignments" },
  { cidr: "192.0.2.0/24", name: "documentation (TEST-NET-1)" },
  { cidr: "192.88.99.0/24", name: "6to4 relay anycast (deprecated)" },
  { cidr: "192.168.0.0/16", name: "private (RFC 1918)" },
  { cidr: "198.18.0.0/15", name: "benchmarking" },
  { cidr: "198.51.100.0/24", name: "documentation (TEST-NET-2)" },
  { cidr: "203.0.113.0/24", name: "documentation (TEST-NET-3)" },
  { cidr: "224.0.0.0/4", name: "multicast" },
  { cidr: "240.0.0.0/4", name: "reserved (includes broadcast)" },
  { cidr: "::/128", name: "unspecified" },
  { cidr: "::1/128", name: "loopback" },
  { cidr: "::ffff:0:0/96", name: "IPv4-mapped" },
  { cidr: "64:ff9b::/96", name: "NAT64 well-known prefix" },
  { cidr: "64:ff9b:1::/48", name: "local-use NAT64" },
  { cidr: "100::/64", name: "discard-only" },
  { cidr: "2001::/23", name: "IETF protocol assignments" },
  { cidr: "2001:db8::/32", name: "documentation" },
  { cidr: "2002::/16", name: "6to4" },
  { cidr: "3fff::/20", name: "documentation (RFC 9637)" },
  { cidr: "5f00::/16", name: "segment routing (SRv6) SIDs" },
  { cidr: "fc00::/7", name: "unique local (ULA)" },
  { cidr: "fe80::/10", name: "link-local" },
  { cidr: "ff00::/8", name: "multicast" },
];

const blockLists = RESERVED_RANGES.map(({ cidr, name }) => {
  const [network, prefix] = cidr.split("/") as [string, string];
  const list = new BlockList();
  list.addSubnet(network, Number(prefix), isIP(network) === 6 ? "ipv6" : "ipv4");
  return { list, name, family: isIP(network) === 6 ? ("ipv6" as const) : ("ipv4" as const) };
});

/** The name of the special-purpose range `ip` lies in, or null when it is a public unicast address. */
export function reservedRangeOf(ip: string): string | null {
  const version = isIP(ip);
  if (version === 0) throw new Error(`not an IP address: "${ip}"`);
  const family = version === 6 ? "ipv6" : "ipv4";
  for (const { list, name, family: listFamily } of blockLists) {
    if (listFamily === family && list.check(ip, family)) return name;
  }
  return null;
}

/** True for a syntactically valid IP address outside every reserved range. */
export function isPublicAddress(ip: string): boolean {
  return isIP(ip) !== 0 && reservedRangeOf(ip) === null;
}

/**
 * A fixed-width key that sorts addresses numerically (IPv4 before IPv6) and is equal for
 * two spellings of one address ("2600:1f18::1" and "2600:1f18:0:0:0:0:0:1").
 */
export function addressKey(ip: string): string {
  const version = isIP(ip);
  if (version === 4) return `4:${ipv4Hex(ip)}`;
  if (version === 6) return `6:${expandIpv6(ip)}`;
  throw new Error(`not an IP address: "${ip}"`);
}

export function compareAddresses(a: string, b: string): number {
  const ka = addressKey(a);
  const kb = addressKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function ipv4Hex(ip: string): string {
  return ip
    .split(".")
    .map((octet) => Number(octet).toString(16).padStart(2, "0"))
    .join("");
}

function expandIpv6(ip: string): string {
  let text = ip.toLowerCase().split("%")[0]!;
  // A trailing dotted quad ("::ffff:1.2.3.4") is two 16-bit groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const hex = ipv4Hex(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${hex.slice(0, 4)}:${hex.slice(4)}`;
  }
  const [head, tail] = text.includes("::") ? (text.split("::") as [string, string]) : [text, undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill("0"), ...tailGroups];
  return groups.map((group) => group.padStart(4, "0")).join("");
}
