// Parses what a user (or a targets file) names into concrete targets:
// "203.0.113.10", "203.0.113.10:6380", "[2001:db8::1]:6379", "2001:db8::1", "db.example.com:6379",
// and CIDR blocks "198.51.100.0/24" (IPv4 /16 at most) or "2001:db8::/120" (IPv6 /112 at most), optionally ":port".
// All specifications of one run together expand to MAX_TARGETS at most (docs/readme-probe.md, "Targets").
import type { Target } from "../exposure/model.ts";
import { canonicalIpv6, ipFamily } from "../net/ip.ts";
import { printable } from "../printable.ts";
import { DEFAULT_PORT } from "./protocols.ts";

export { DEFAULT_PORT };
export const MIN_IPV4_PREFIX = 16;
export const MIN_IPV6_PREFIX = 112;
/** Targets one run may name in all, after CIDR expansion: four /16 blocks. */
export const MAX_TARGETS = 262_144;

/** A target the user wrote that cannot be understood; its message is one line for the user. */
export class TargetError extends Error {
  override name = "TargetError";
  constructor(message: string) {
    // It quotes what the user (or a targets file) wrote.
    super(printable(message));
  }
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

function parsePort(text: string, spec: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new TargetError(`bad port in target "${spec}": must be 1-65535`);
  }
  return Number(text);
}

/** Splits "host:port", "[v6]:port", "v6", "cidr:port" into host part and port. */
function splitHostPort(spec: string, defaultPort: number): { host: string; port: number } {
  if (spec.startsWith("[")) {
    const close = spec.indexOf("]");
    if (close < 0) throw new TargetError(`missing "]" in target "${spec}"`);
    const host = spec.slice(1, close);
    const rest = spec.slice(close + 1);
    if (rest === "") return { host, port: defaultPort };
    if (!rest.startsWith(":")) throw new TargetError(`unexpected text after "]" in target "${spec}"`);
    return { host, port: parsePort(rest.slice(1), spec) };
  }
  const colons = spec.split(":").length - 1;
  if (colons === 0) return { host: spec, port: defaultPort };
  if (colons === 1) {
    const [host = "", port = ""] = spec.split(":");
    return { host, port: parsePort(port, spec) };
  }
  // Two or more colons without brackets: a bare IPv6 address or block, default port.
  return { host: spec, port: defaultPort };
}

function ipv4ToInt(address: string): number {
  return address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** The eight 16-bit groups of an IPv6 address (handles "::" and a dotted IPv4 tail). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const v4 = ipv4ToInt(dotted[1]);
    text = `${text.slice(0, dotted.index)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array<string>(zeros).fill("0"), ...tailGroups].map((group) => Number.parseInt(group, 16));
}

export { canonicalIpv6 };

function expandCidr(block: string, port: number, spec: string): Target[] {
  const [network = "", prefixText = ""] = block.split("/");
  const family = ipFamily(network);
  if (!family) throw new TargetError(`bad network address in CIDR block "${spec}"`);
  if (!/^\d{1,3}$/.test(prefixText)) throw new TargetError(`bad prefix length in CIDR block "${spec}"`);
  const prefix = Number(prefixText);
  if (family === "ipv4") {
    if (prefix > 32) throw new TargetError(`bad prefix length in CIDR block "${spec}": IPv4 allows 0-32`);
    if (prefix < MIN_IPV4_PREFIX) {
      throw new TargetError(
        `CIDR block "${spec}" is too large: IPv4 blocks may be /${MIN_IPV4_PREFIX} at most (65,536 addresses)`,
      );
    }
    const size = 2 ** (32 - prefix);
    const first = Math.floor(ipv4ToInt(network) / size) * size;
    return Array.from({ length: size }, (_, i) => ({ host: intToIpv4(first + i), port }));
  }
  if (prefix > 128) throw new TargetError(`bad prefix length in CIDR block "${spec}": IPv6 allows 0-128`);
  if (prefix < MIN_IPV6_PREFIX) {
    throw new TargetError(
      `CIDR block "${spec}" is too large: IPv6 blocks may be /${MIN_IPV6_PREFIX} at most (65,536 addresses)`,
    );
  }
  const groups = ipv6Groups(network);
  const size = 2 ** (128 - prefix);
  const lastStart = Math.floor((groups[7] ?? 0) / size) * size;
  const prefixGroups = groups.slice(0, 7).map((group) => group.toString(16));
  return Array.from({ length: size }, (_, i) => ({
    host: canonicalIpv6([...prefixGroups, (lastStart + i).toString(16)].join(":")),
    port,
  }));
}

/** Parses one target specification into one or more targets. Throws TargetError with a one-line message. */
export function parseTarget(input: string, defaultPort = DEFAULT_PORT): Target[] {
  const spec = input.trim();
  if (spec === "") throw new TargetError("empty target");
  const { host, port } = splitHostPort(spec, defaultPort);
  // A zone id ("fe80::1%eth0") names a link of this machine: never an address on the internet.
  if (host.includes("%")) {
    throw new TargetError(`"${spec.slice(0, 100)}" has an IPv6 zone id ("%..."): targets must be global addresses`);
  }
  if (host.includes("/")) return expandCidr(host, port, spec);
  const family = ipFamily(host);
  if (family === "ipv6") return [{ host: canonicalIpv6(host), port }];
  if (family === "ipv4") return [{ host, port }];
  if (/^[\d.]+$/.test(host)) throw new TargetError(`"${spec}" is not a valid IPv4 address`);
  if (host.includes(":")) throw new TargetError(`"${spec}" is not a valid IPv6 address`);
  if (!HOSTNAME.test(host)) throw new TargetError(`"${spec}" is not a valid host name, IP address or CIDR block`);
  return [{ host: host.toLowerCase(), port }];
}

/**
 * Parses many specifications; the error names the first bad one. Duplicates are dropped, order kept.
 * More than `maxTargets` in all is an error (one block is /16 or /112 at most, so memory stays bounded).
 */
export function parseTargets(specs: Iterable<string>, defaultPort = DEFAULT_PORT, maxTargets = MAX_TARGETS): Target[] {
  const seen = new Set<string>();
  const targets: Target[] = [];
  let named = 0;
  for (const spec of specs) {
    const expanded = parseTarget(spec, defaultPort);
    named += expanded.length;
    if (named > maxTargets) {
      throw new TargetError(
        `the targets expand to more than ${maxTargets.toLocaleString("en-US")} addresses in all (at "${spec.trim().slice(0, 100)}"): split the run`,
      );
    }
    for (const target of expanded) {
      const key = `${target.host}|${target.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      targets.push(target);
    }
  }
  return targets;
}

/** The target specifications in a targets file: one per line, "#" starts a comment, blank lines ignored. */
export function targetSpecsFromText(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "");
}
