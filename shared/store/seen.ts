// Seen records: the proof that an endpoint was observed, without rewriting its record when nothing
// changed (docs/readme-store.md, "Seen records"). One record per seen bucket (digest.ts seenBucketOf),
// rewritten by every shard that observed endpoints of the bucket: it groups a key of each endpoint by
// the scan (or fast-path probe) that observed it last, with that observation time. A record's
// `lastObservedAt` as the store returns it is the later of the record's own value and its seen time,
// so it is accurate to the last shard that covered the endpoint, while an unchanged endpoint costs no
// write of its own. The key is a short hash of the endpoint (seenHash, the default), or what a store
// gives instead: the DynamoDB store keys an endpoint by its slot in its digest, so a group is a bitmap
// of a few bytes per digest bucket (dynamo-digest.ts). This file knows no database.
import { createHash } from "node:crypto";
import type { EndpointState } from "../exposure/transitions.ts";

/** Endpoints observed by one scan (or probe), each at or after `at` (the earliest observation of it). */
export interface SeenGroup {
  scanId: string;
  at: string;
  /** The key of each endpoint (seenHash() unless the store keys otherwise), each in exactly one group of a record (its latest). */
  hashes: Set<string>;
}

export interface Seen {
  /** Optimistic-concurrency counter; 0 when there is no record yet. */
  rev: number;
  groups: SeenGroup[];
}

/**
 * Groups kept per bucket. Past this, the two smallest (fast-path probes of single endpoints, say) are
 * merged at the earlier of their times: a seen time may come out early, never later than the truth.
 */
export const MAX_SEEN_GROUPS = 4;

/** A group this much older than the newest is dropped: its endpoints (no longer scanned) fall back to their record's own time. */
export const SEEN_GROUP_MAX_AGE_MS = 30 * 86_400_000;

/** Bytes of the hash: 40 bits, so two endpoints of one bucket practically never share one. */
const HASH_BYTES = 5;

export function seenHash(endpoint: string): string {
  return createHash("sha256").update(`seen\n${endpoint}`).digest().subarray(0, HASH_BYTES).toString("hex");
}

/** The hashes of a group, packed (HASH_BYTES each): what the stores keep. */
export function packHashes(hashes: Set<string>): Uint8Array {
  return Buffer.from([...hashes].sort().join(""), "hex");
}

export function unpackHashes(bytes: Uint8Array): Set<string> {
  const hex = Buffer.from(bytes).toString("hex");
  const hashes = new Set<string>();
  for (let i = 0; i + HASH_BYTES * 2 <= hex.length; i += HASH_BYTES * 2) hashes.add(hex.slice(i, i + HASH_BYTES * 2));
  return hashes;
}

/**
 * The groups after a shard of `scanId` observed `observed` (endpoint -> observation time) in this bucket.
 * Another shard of the same scan merges into the same group (a bucket may span two shards); an endpoint
 * already seen later (a late redelivery of an older shard) keeps its later time.
 */
export function mergeSeen(
  groups: readonly SeenGroup[],
  scanId: string,
  observed: Map<string, string>,
  keyOf: (endpoint: string) => string = seenHash,
): SeenGroup[] {
  if (observed.size === 0) return [...groups];
  const sliceAt = [...observed.values()].reduce((a, b) => (Date.parse(b) < Date.parse(a) ? b : a));
  const same = groups.find((group) => group.scanId === scanId);
  const at = same !== undefined && Date.parse(same.at) < Date.parse(sliceAt) ? same.at : sliceAt;
  const latest = new Map<string, { scanId: string; at: string }>();
  for (const group of groups) for (const hash of group.hashes) latest.set(hash, { scanId: group.scanId, at: group.at });
  for (const endpoint of observed.keys()) {
    const hash = keyOf(endpoint);
    const current = latest.get(hash);
    if (current === undefined || current.scanId === scanId || Date.parse(current.at) < Date.parse(sliceAt)) {
      latest.set(hash, { scanId, at });
    }
  }
  const byScan = new Map<string, SeenGroup>();
  for (const [hash, where] of latest) {
    const groupAt = where.scanId === scanId ? at : where.at;
    let group = byScan.get(where.scanId);
    if (group === undefined) {
      group = { scanId: where.scanId, at: groupAt, hashes: new Set() };
      byScan.set(where.scanId, group);
    }
    group.hashes.add(hash);
  }
  const newest = Math.max(...[...byScan.values()].map((group) => Date.parse(group.at)));
  const kept = [...byScan.values()].filter((group) => newest - Date.parse(group.at) <= SEEN_GROUP_MAX_AGE_MS);
  while (kept.length > MAX_SEEN_GROUPS) {
    kept.sort((a, b) => a.hashes.size - b.hashes.size);
    const [a, b] = kept.splice(0, 2) as [SeenGroup, SeenGroup];
    const [earlier, later] = Date.parse(a.at) <= Date.parse(b.at) ? [a, b] : [b, a];
    kept.push({ scanId: later.scanId, at: earlier.at, hashes: new Set([...a.hashes, ...b.hashes]) });
  }
  return kept.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
}

/** The group of a shard's observations: its scan (or probe) id; without one, its earliest observation time. */
export function seenGroupId(scanId: string | undefined, observed: Map<string, string>): string {
  return scanId ?? [...observed.values()].sort()[0] ?? "";
}

/** When a seen record last saw the endpoint, or undefined. */
export function seenAt(
  groups: readonly SeenGroup[],
  endpoint: string,
  keyOf: (endpoint: string) => string | undefined = seenHash,
): string | undefined {
  const hash = keyOf(endpoint);
  return hash === undefined ? undefined : groups.find((group) => group.hashes.has(hash))?.at;
}

/** The record with `lastObservedAt` the later of its own and its seen time. */
export function withSeen(
  state: EndpointState,
  groups: readonly SeenGroup[] | undefined,
  keyOf?: (endpoint: string) => string | undefined,
): EndpointState {
  const at = groups === undefined ? undefined : seenAt(groups, state.endpoint, keyOf);
  return at !== undefined && Date.parse(at) > Date.parse(state.lastObservedAt)
    ? { ...state, lastObservedAt: at }
    : state;
}
