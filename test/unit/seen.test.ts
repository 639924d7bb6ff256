// Seen records' groups (shared/store/seen.ts): times never move back or come out later than an
// observation, a bucket split over shards of one scan is one group, and bursts of single-endpoint
// probes do not push a scan's group out.
import { describe, expect, it } from "vitest";
import { packSlots, unpackSlots } from "../../shared/store/dynamo-digest.ts";
import {
  MAX_SEEN_GROUPS,
  mergeSeen,
  packHashes,
  type SeenGroup,
  seenAt,
  unpackHashes,
} from "../../shared/store/seen.ts";

const at = (minute: number) => new Date(Date.parse("2026-03-01T10:00:00.000Z") + minute * 60_000).toISOString();
const endpoints = Array.from({ length: 50 }, (_, i) => `198.51.100.${i}:6379`);
const observed = (list: string[], minute: number) => new Map(list.map((endpoint) => [endpoint, at(minute)]));

describe("seen groups", () => {
  it("moves each endpoint to the latest scan that observed it, and never back", () => {
    let groups: SeenGroup[] = mergeSeen([], "scan-1", observed(endpoints, 0));
    groups = mergeSeen(groups, "scan-2", observed(endpoints.slice(0, 25), 15));
    groups = mergeSeen(groups, "scan-2", observed(endpoints.slice(25, 40), 16)); // the bucket's other shard
    groups = mergeSeen(groups, "scan-1", observed(endpoints, 0)); // a late redelivery
    expect(seenAt(groups, endpoints[0]!)).toBe(at(15));
    expect(seenAt(groups, endpoints[30]!)).toBe(at(15)); // one time per scan: its earliest observation
    expect(seenAt(groups, endpoints[45]!)).toBe(at(0)); // not scanned by scan-2
    expect(seenAt(groups, "203.0.113.1:6379")).toBeUndefined();
  });

  it("keeps a scan's group through a burst of single-endpoint probes, merging those at the earlier time", () => {
    let groups = mergeSeen([], "scan-1", observed(endpoints, 0));
    for (let i = 0; i < 10; i++) groups = mergeSeen(groups, `probe-${i}`, observed([endpoints[i]!], 1 + i));
    expect(groups.length).toBeLessThanOrEqual(MAX_SEEN_GROUPS);
    expect(seenAt(groups, endpoints[20]!)).toBe(at(0));
    for (let i = 0; i < 10; i++) {
      const seen = Date.parse(seenAt(groups, endpoints[i]!) ?? "");
      expect(seen).toBeGreaterThanOrEqual(Date.parse(at(1)));
      expect(seen).toBeLessThanOrEqual(Date.parse(at(1 + i)));
    }
  });

  it("drops a group more than 30 days older than the newest", () => {
    let groups = mergeSeen([], "scan-1", observed(endpoints, 0));
    groups = mergeSeen(groups, "scan-2", observed(endpoints.slice(0, 10), 31 * 24 * 60));
    expect(seenAt(groups, endpoints[20]!)).toBeUndefined();
    expect(seenAt(groups, endpoints[0]!)).toBe(at(31 * 24 * 60));
  });

  it("packs hashes losslessly", () => {
    const [group] = mergeSeen([], "scan-1", observed(endpoints, 0));
    expect(unpackHashes(packHashes(group!.hashes))).toEqual(group!.hashes);
    expect(packHashes(group!.hashes).length).toBe(5 * endpoints.length);
  });

  it("packs slot keys as a bitmap per digest bucket: a few bytes for hundreds of endpoints", () => {
    const keys = new Set([...Array.from({ length: 195 }, (_, i) => `7:${i}`), "300:0", "300:9", "511:1000"]);
    const packed = packSlots(keys);
    expect(unpackSlots(packed)).toEqual(keys);
    // 4 bytes of header per digest bucket, then one bit per slot up to the highest.
    expect(packed.length).toBe(4 + 25 + 4 + 2 + 4 + 126);
    expect(unpackSlots(packSlots([]))).toEqual(new Set());
  });
});
