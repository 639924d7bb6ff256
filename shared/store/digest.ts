// Digests: a compact copy of what is recorded for every endpoint of a stable hash bucket, read once per
// shard, so that an observation that changes nothing costs no read and no write (docs/readme-store.md,
// "Digests"). This file is the part that knows no database: buckets, the entry format, and recording a
// shard's observations over a small backend (dynamo-digest.ts is the DynamoDB one).
//
// Recording a shard:
//   open:   read the digests of the shard's buckets; read the STATE record of every endpoint the digest
//           does not vouch for (missing: a new endpoint or a table written before digests existed; marked:
//           a writer may be changing it) -- the first sweep of an existing table builds its digests here.
//   record: an observation with the same facts as its digest entry is `unchanged`: nothing is read or
//           written. Any other is decided by the pure rules (decideTransition) against the real record
//           (read now, in batches) and written conditional on that record's version; a lost race returns
//           the record that won (ReturnValuesOnConditionCheckFailure) and the decision is made again.
//   Before writing, the writer marks the endpoints in the digest; after, it rewrites the digest (merged by
//   version with whatever another writer wrote meanwhile) without its marks. A writer that dies between
//   the two leaves its marks, so the next reader reads those records instead of trusting a stale entry:
//   a stale digest costs a read, never a hidden change or a second event (event ids are deterministic).
//   seen:   last, every observation goes into its bucket's seen record (seen.ts), one write per bucket, so
//           an unchanged endpoint's lastObservedAt is as fresh as the shard that last observed it. An
//           endpoint is keyed there by its slot in its digest (slotKeys): digests only ever append entries,
//           so a slot never changes, and a seen group is a bitmap of a few bytes per digest bucket.
import { createHash, randomBytes } from "node:crypto";
import {
  type Exposure,
  exposureOf,
  formatEndpoint,
  PROBE_STATES,
  type ProbeResult,
  type ProbeState,
} from "../exposure/model.ts";
import { canonicalTime, decideTransition, type EndpointState, recordedFactsKey } from "../exposure/transitions.ts";
import { mergeSeen, type Seen, type SeenGroup, seenGroupId } from "./seen.ts";
import type { ShardRecorder, ShardRecordOptions, ShardRecordResult } from "./store.ts";

/** Fixed forever: an endpoint's bucket never changes. 512 keeps a digest of 5 million endpoints < 400 KB. */
export const DIGEST_BUCKETS = 512;

/** A mark older than this belongs to a writer that is gone (Lambda runs 15 minutes at most). */
export const MARK_EXPIRY_MS = 20 * 60_000;

export function bucketOf(endpoint: string): number {
  return createHash("sha256").update(endpoint).digest().readUInt32BE(0) % DIGEST_BUCKETS;
}

/**
 * Seen records (seen.ts) cover 4 consecutive digest buckets each (128 in all), so a small fleet writes
 * few of them per sweep while one still holds 5 million endpoints' hashes in ~200 KB. Fixed forever.
 */
export const SEEN_BUCKETS = DIGEST_BUCKETS / 4;

export function seenBucketOf(endpoint: string): number {
  return bucketOf(endpoint) >> 2;
}

export interface DigestEntry {
  version: number;
  state: ProbeState;
  pendingNone: number;
  /** Hash of the owner's account and resource ("" when none). */
  owner: string;
  /** Hash of recordedFactsKey(): state, TLS, server identity, finding ids. */
  facts: string;
}

export interface Digest {
  /** Optimistic-concurrency counter of the digest item; 0 when there is none. */
  rev: number;
  entries: Map<string, DigestEntry>;
  /** Endpoints a writer is about to change, to "<writer>@<epoch ms>": their entries are not trusted. */
  marks: Map<string, string>;
}

export interface DigestBackend {
  /** Consistent reads unless `consistent` is false (a reader's); a bucket without a digest is absent from the map. */
  readDigests(buckets: readonly number[], consistent?: boolean): Promise<Map<number, Digest>>;
  /** Writes the digest if its rev is still `expectedRev` (0: none yet); false when another writer got there first. */
  writeDigest(bucket: number, digest: Digest, expectedRev: number): Promise<boolean>;
  /** Reads the buckets' seen records (seen.ts) for a reader; a bucket without one is absent. */
  readSeen(buckets: readonly number[]): Promise<Map<number, Seen>>;
  /**
   * Rewrites each bucket's seen record with `update(groups)`, conditional on the record read (retrying
   * against the one that won a race), so no writer's groups are lost.
   */
  updateSeen(updates: Map<number, (groups: readonly SeenGroup[]) => SeenGroup[]>): Promise<void>;
  /** Consistent reads of current records; never-seen endpoints are absent. */
  readStates(endpoints: readonly string[]): Promise<Map<string, EndpointState>>;
  /**
   * Writes `next` (and `event`) if the record is still `recorded` (by version; null: none). On a lost race
   * returns the record found (`current`, when the database returned it; else undefined: read it again).
   */
  writeTransition(
    recorded: EndpointState | null,
    next: EndpointState,
    event: ShardRecordResult["event"] | null,
  ): Promise<{ written: true } | { written: false; current?: EndpointState | null }>;
}

const short = (text: string) => createHash("sha256").update(text).digest("base64url").slice(0, 10);

export function ownerHash(
  asset: { accountId: string; resourceId: string; path?: { verdict: string } } | null | undefined,
): string {
  // The path verdict belongs to the owner's facts: a change of it is written (docs/readme-path.md).
  if (!asset) return "";
  return short(`${asset.accountId}\n${asset.resourceId}${asset.path ? `\n${asset.path.verdict}` : ""}`);
}

export function entryOf(state: EndpointState): DigestEntry {
  return {
    version: state.version,
    state: state.state,
    pendingNone: state.pendingNone,
    owner: ownerHash(state.asset),
    facts: short(recordedFactsKey(state)),
  };
}

/** True when recording `result` could only be `unchanged` (or stale/duplicate): same facts, owner, nothing pending. */
export function unchangedAgainst(entry: DigestEntry, result: ProbeResult): boolean {
  return (
    entry.pendingNone === 0 &&
    entry.facts === short(recordedFactsKey(result)) &&
    (result.asset === undefined || entry.owner === ownerHash(result.asset))
  );
}

/** One line per endpoint: "<endpoint> <version> <state index> <pendingNone> <owner> <facts>". */
export function encodeEntries(entries: Map<string, DigestEntry>): string {
  const lines: string[] = [];
  for (const [endpoint, e] of entries) {
    lines.push(
      `${endpoint} ${e.version} ${PROBE_STATES.indexOf(e.state)} ${e.pendingNone} ${e.owner || "-"} ${e.facts}`,
    );
  }
  return lines.join("\n");
}

export function decodeEntries(text: string): Map<string, DigestEntry> {
  const entries = new Map<string, DigestEntry>();
  for (const line of text.split("\n")) {
    const [endpoint, version, state, pendingNone, owner, facts] = line.split(" ");
    const probeState = PROBE_STATES[Number(state)];
    if (!endpoint || facts === undefined || probeState === undefined) continue; // unreadable: not trusted
    entries.set(endpoint, {
      version: Number(version),
      state: probeState,
      pendingNone: Number(pendingNone),
      owner: owner === "-" ? "" : (owner ?? ""),
      facts,
    });
  }
  return entries;
}

const sameEntry = (a: DigestEntry | undefined, b: DigestEntry | undefined) =>
  a !== undefined && b !== undefined && encodeEntries(new Map([["e", a]])) === encodeEntries(new Map([["e", b]]));

export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

export const WRITE_CONCURRENCY = 16;
export const MAX_ATTEMPTS = 10;

/** Opens a shard's recording: reads its digests once, and the records they do not vouch for. */
export async function openShardRecording(
  backend: DigestBackend,
  endpoints: readonly string[],
  options: ShardRecordOptions = {},
): Promise<ShardRecorder> {
  const writer = randomBytes(6).toString("hex");
  const byBucket = new Map<number, string[]>();
  for (const endpoint of new Set(endpoints)) {
    const bucket = bucketOf(endpoint);
    byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), endpoint]);
  }
  const digests = await backend.readDigests([...byBucket.keys()]);
  const trusted = new Map<string, DigestEntry>();
  for (const [bucket, members] of byBucket) {
    const digest = digests.get(bucket);
    for (const endpoint of members) {
      const entry = digest?.entries.get(endpoint);
      if (entry !== undefined && !digest?.marks.has(endpoint)) trusted.set(endpoint, entry);
    }
  }
  /** Records read from the table: the truth for these endpoints (null: never seen). */
  const records = new Map<string, EndpointState | null>();
  const readRecords = async (wanted: string[]) => {
    const states = await backend.readStates(wanted);
    for (const endpoint of wanted) records.set(endpoint, states.get(endpoint) ?? null);
  };
  await readRecords([...new Set(endpoints)].filter((endpoint) => !trusted.has(endpoint)));
  const finals = new Map<string, DigestEntry>();

  const markBuckets = async (changing: Map<number, string[]>) => {
    for (const [bucket, changed] of changing) {
      let digest = digests.get(bucket) ?? { rev: 0, entries: new Map(), marks: new Map() };
      for (let attempt = 1; ; attempt++) {
        const marks = new Map(digest.marks);
        for (const endpoint of changed) marks.set(endpoint, `${writer}@${Date.now()}`);
        const marked = { rev: digest.rev + 1, entries: digest.entries, marks };
        if (await backend.writeDigest(bucket, marked, digest.rev)) {
          digests.set(bucket, marked);
          break;
        }
        if (attempt >= MAX_ATTEMPTS) throw new Error(`digest ${bucket} kept changing; giving up`);
        digest = (await backend.readDigests([bucket])).get(bucket) ?? { rev: 0, entries: new Map(), marks: new Map() };
      }
    }
  };

  const rewriteDigests = async (ours: Set<string>) => {
    for (const [bucket, members] of byBucket) {
      let stored = digests.get(bucket);
      for (let attempt = 1; ; attempt++) {
        // A bucket may span two shards: the other shard's entries are kept as stored.
        const entries = new Map<string, DigestEntry>(stored?.entries ?? []);
        for (const endpoint of members) {
          const mine = finals.get(endpoint) ?? trusted.get(endpoint);
          const theirs = stored?.entries.get(endpoint);
          // Another writer's newer entry wins; an endpoint with no record at all has no entry.
          const entry = theirs !== undefined && (mine === undefined || theirs.version > mine.version) ? theirs : mine;
          if (entry !== undefined) entries.set(endpoint, entry);
        }
        const marks = new Map<string, string>();
        for (const [endpoint, mark] of stored?.marks ?? []) {
          const [owner, at] = mark.split("@");
          const expired = Date.now() - Number(at) > MARK_EXPIRY_MS;
          if (!(owner === writer && ours.has(endpoint)) && !expired) marks.set(endpoint, mark);
        }
        const unchanged =
          stored !== undefined &&
          marks.size === stored.marks.size &&
          entries.size === stored.entries.size &&
          [...entries].every(([endpoint, entry]) => sameEntry(entry, stored?.entries.get(endpoint)));
        if (unchanged || (stored === undefined && entries.size === 0)) break;
        const rev = stored?.rev ?? 0;
        const digest = { rev: rev + 1, entries, marks };
        if (await backend.writeDigest(bucket, digest, rev)) {
          digests.set(bucket, digest);
          break;
        }
        if (attempt >= MAX_ATTEMPTS) throw new Error(`digest ${bucket} kept changing; giving up`);
        stored = (await backend.readDigests([bucket])).get(bucket);
      }
    }
  };

  /**
   * Every observation recorded (probe errors are never passed in) goes into its bucket's seen record, keyed
   * by its digest slot. An endpoint without a digest entry has no record either: nothing to vouch for.
   */
  const writeSeen = async (results: readonly ProbeResult[]) => {
    const keyOf = slotKeys(digests);
    const updates = new Map<number, (groups: readonly SeenGroup[]) => SeenGroup[]>();
    for (const [bucket, times] of observedByBucket(results)) {
      const group = seenGroupId(options.scanId, times);
      const keyed = new Map([...times].filter(([endpoint]) => keyOf(endpoint) !== undefined));
      if (keyed.size > 0) updates.set(bucket, (groups) => mergeSeen(groups, group, keyed, (e) => keyOf(e) ?? ""));
    }
    if (updates.size > 0) await backend.updateSeen(updates);
  };

  return {
    recordedExposure(endpoint: string): Exposure | undefined {
      const record = records.get(endpoint);
      if (record !== undefined) return record?.exposure;
      const entry = trusted.get(endpoint);
      return entry ? exposureOf(entry.state) : undefined;
    },

    async record(results: readonly ProbeResult[]): Promise<ShardRecordResult[]> {
      const outcomes: ShardRecordResult[] = results.map(() => ({ outcome: "unchanged" }));
      const decide: number[] = [];
      results.forEach((result, i) => {
        const endpoint = formatKey(result);
        const entry = trusted.get(endpoint);
        if (records.has(endpoint) || entry === undefined || !unchangedAgainst(entry, result)) decide.push(i);
      });
      // A difference: read the real records (those not read at open) before deciding.
      await readRecords([...new Set(decide.map((i) => formatKey(results[i]!)))].filter((e) => !records.has(e)));
      // Every observation of one endpoint is handled in order by one worker.
      const perEndpoint = new Map<string, number[]>();
      for (const i of decide) {
        const endpoint = formatKey(results[i]!);
        perEndpoint.set(endpoint, [...(perEndpoint.get(endpoint) ?? []), i]);
      }
      const writing = new Map<number, string[]>();
      for (const [endpoint, indexes] of perEndpoint) {
        const recorded = records.get(endpoint) ?? null;
        if (decideTransition(recorded, results[indexes[0]!]!, options).next === null && indexes.length === 1) continue;
        const bucket = bucketOf(endpoint);
        writing.set(bucket, [...(writing.get(bucket) ?? []), endpoint]);
      }
      await markBuckets(writing);
      const written = new Set([...writing.values()].flat());
      await pool([...perEndpoint], WRITE_CONCURRENCY, async ([endpoint, indexes]) => {
        for (const i of indexes) {
          const result = results[i]!;
          for (let attempt = 1; ; attempt++) {
            const recorded = records.get(endpoint) ?? null;
            const decision = decideTransition(recorded, result, options);
            if (decision.next === null || !written.has(endpoint)) {
              outcomes[i] = { outcome: decision.outcome };
              break;
            }
            const write = await backend.writeTransition(recorded, decision.next, decision.event);
            if (write.written) {
              records.set(endpoint, decision.next);
              outcomes[i] = { outcome: decision.outcome, ...(decision.event ? { event: decision.event } : {}) };
              break;
            }
            if (attempt >= MAX_ATTEMPTS) throw new Error(`${endpoint}: the record kept changing; giving up`);
            // Someone else wrote this endpoint: decide again against the record that won.
            if (write.current !== undefined) records.set(endpoint, write.current);
            else await readRecords([endpoint]);
          }
        }
      });
      for (const [endpoint, record] of records) if (record !== null) finals.set(endpoint, entryOf(record));
      await rewriteDigests(written);
      await writeSeen(results);
      return outcomes;
    },
  };
}

const formatKey = (result: ProbeResult) => formatEndpoint(result.ip, result.port);

/** Positions of a digest's entries, computed once per digest read or written. */
const positions = new WeakMap<Digest, Map<string, number>>();

/**
 * The seen key of each endpoint (seen.ts) in a store with digests: "<digest bucket>:<slot>", the slot
 * being the endpoint's position among its digest's entries. Entries are only ever appended (the
 * rewrite keeps every stored entry in place), so a slot, once given, names the same endpoint for good.
 * Undefined for an endpoint its digest does not list.
 */
export function slotKeys(digests: ReadonlyMap<number, Digest>): (endpoint: string) => string | undefined {
  return (endpoint) => {
    const bucket = bucketOf(endpoint);
    const digest = digests.get(bucket);
    if (digest === undefined) return undefined;
    let slots = positions.get(digest);
    if (slots === undefined) {
      slots = new Map([...digest.entries.keys()].map((e, i) => [e, i]));
      positions.set(digest, slots);
    }
    const slot = slots.get(endpoint);
    return slot === undefined ? undefined : `${bucket}:${slot}`;
  };
}

/** Observations by seen bucket (seenBucketOf): endpoint -> its earliest observation time among them (for seen.ts). */
export function observedByBucket(results: readonly ProbeResult[]): Map<number, Map<string, string>> {
  const observed = new Map<number, Map<string, string>>();
  for (const result of results) {
    const endpoint = formatKey(result);
    const bucket = seenBucketOf(endpoint);
    const times = observed.get(bucket) ?? new Map<string, string>();
    const at = canonicalTime(result.observedAt);
    const earlier = times.get(endpoint);
    if (earlier === undefined || Date.parse(at) < Date.parse(earlier)) times.set(endpoint, at);
    observed.set(bucket, times);
  }
  return observed;
}
