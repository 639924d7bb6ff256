// One spelling and one order for addresses, so that the same address reported by two
// listings is one target and the inventory's output does not depend on timing.
import { canonicalIpv6, ipFamily } from "../net/ip.ts";

/** IPv4 as is, IPv6 in canonical (RFC 5952) form. */
export function canonicalAddress(ip: string): string {
  return ipFamily(ip) === "ipv6" ? canonicalIpv6(ip) : ip;
}

/** A fixed-width hex key that sorts addresses numerically, IPv4 before IPv6. */
export function addressOrderKey(ip: string): string {
  const family = ipFamily(ip);
  if (family === "ipv4") {
    return `4:${ip
      .split(".")
      .map((octet) => Number(octet).toString(16).padStart(2, "0"))
      .join("")}`;
  }
  if (family === "ipv6") {
    // The canonical form has hex groups only and at most one "::".
    const [head = "", tail] = canonicalIpv6(ip).split("::");
    const headGroups = head === "" ? [] : head.split(":");
    const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
    const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
    const groups = [...headGroups, ...Array<string>(zeros).fill("0"), ...tailGroups];
    return `6:${groups.map((group) => group.padStart(4, "0")).join("")}`;
  }
  throw new Error(`not an IP address: "${ip}"`);
}

export function compareAddresses(a: string, b: string): number {
  const ka = addressOrderKey(a);
  const kb = addressOrderKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
