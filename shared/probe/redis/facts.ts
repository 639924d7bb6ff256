// The facts the Redis module records about a server, and how its versions compare: the module's public
// types (docs/readme-probe.md, "Protocol facts"), read by its words (text.ts) as well as by the probe.
// Imports nothing from the probe, so that alerts and reports may use them.
import type { ProtocolFacts } from "../../exposure/model.ts";

/** The protocol's name, as a `Target` gives it and as results carry it. */
export const REDIS = "redis";

export type Product = "redis" | "valkey" | "dragonfly" | "keydb" | "unknown";

export type LoadedModule = {
  name: string;
  version?: string;
  path?: string;
};

/** The selected facts kept from INFO; never the raw text, client lists or key names. */
export type ServerFacts = {
  product: Product;
  version: string | null;
  mode: "standalone" | "cluster" | "sentinel" | null;
  role: "master" | "replica" | null;
  masterHost?: string;
  masterPort?: number;
  masterLinkStatus?: "up" | "down";
  os?: string;
  uptimeSeconds?: number;
  executable?: string;
  loading?: boolean;
  modules?: LoadedModule[];
};

/** A result's protocol facts: the name, and the INFO facts when INFO answered. */
export type RedisFacts = { name: typeof REDIS } & Partial<ServerFacts>;

export function redisFacts(server: ServerFacts | null): RedisFacts {
  return { name: REDIS, ...server };
}

/** The INFO facts in a result's protocol facts; null when INFO did not answer, or for another protocol. */
export function serverOf(protocol: ProtocolFacts): ServerFacts | null {
  if (protocol.name !== REDIS || protocol.product === undefined) return null;
  const { name: _name, ...server } = protocol;
  return server as ServerFacts;
}

/** Parses "7.0.15" (or "7.0.15-rc1", "255.255.255") into numbers; null when it is not a version. */
export function parseVersion(text: string): number[] | null {
  // Dragonfly writes "df-v1.25.4", others sometimes "v8.0.1".
  const match = /^(?:df-)?v?(\d{1,5})\.(\d{1,5})(?:\.(\d{1,5}))?/.exec(text.trim());
  if (!match) return null;
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}
