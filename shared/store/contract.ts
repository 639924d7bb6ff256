// What both store implementations (dynamo-store.ts, sqlite/) share so their answers cannot drift:
// page sizes and opaque cursors, the order of the exposed-now listing, the UTC day arithmetic of
// time-range listings, and the checks and initial value of scan records.
import { summariseGaps } from "../exposure/gaps.ts";
import {
  EXPOSURES,
  type Exposure,
  exposureRank,
  PROBE_ERROR,
  PROBE_STATES,
  type ScanRecord,
  type Severity,
} from "../exposure/model.ts";
import { canonicalTime, type EndpointState } from "../exposure/transitions.ts";
import type { PageOptions, ScanStart, ShardReport } from "./store.ts";

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
export const DAY_MS = 86_400_000;
/** A time-range listing walks one partition per day (DynamoDB); this bounds how many a single range may span. */
export const MAX_RANGE_DAYS = 3_700;

const SEVERITY_ORDER: Severity[] = ["critical", "high", "medium", "low", "info"];

/** Sorts ascending as: unauthenticated before reachable, worst finding first, longest exposed first. */
export function exposedSortKey(state: EndpointState): string {
  const exposureCode = 3 - exposureRank(state.exposure); // unauthenticated 1, reachable 2
  const worst = Math.min(SEVERITY_ORDER.length, ...state.findings.map((f) => SEVERITY_ORDER.indexOf(f.severity)));
  return `${exposureCode}#${worst}#${state.since}#${state.endpoint}`;
}

/** The exposure an exposedSortKey() was made for (its first field is 3 - exposureRank). */
export function exposureOfSortKey(key: string): Exposure {
  const exposure = EXPOSURES.find((level) => 3 - exposureRank(level) === Number(key.split("#", 1)[0]));
  if (exposure === undefined || exposure === "none") throw new Error(`not an exposed-now sort key: "${key}"`);
  return exposure;
}

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodeCursor<T>(cursor: string): T {
  try {
    return JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as T;
  } catch {
    throw new Error("invalid page cursor");
  }
}

export function pageSize(options: PageOptions | undefined): number {
  const limit = options?.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new Error(`page limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${limit}`);
  }
  return limit;
}

/**
 * A listing's time range in canonical form, or null when it is empty (`to` not after `from`). Throws
 * past MAX_RANGE_DAYS: the DynamoDB store reads one partition per day, and both stores refuse alike.
 */
export function timeRangeBounds(range: { from: string; to: string }): { from: string; to: string } | null {
  const from = canonicalTime(range.from);
  const to = canonicalTime(range.to);
  if (Date.parse(to) <= Date.parse(from)) return null;
  if ((Date.parse(to) - Date.parse(from)) / DAY_MS > MAX_RANGE_DAYS) {
    throw new Error(`a time range may span at most ${MAX_RANGE_DAYS} days`);
  }
  return { from, to };
}

export function utcDay(iso: string): string {
  return iso.slice(0, 10);
}

export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + DAY_MS).toISOString().slice(0, 10);
}

/** The record a new scan starts with (validated). A scan with nothing to probe is complete the moment it starts. */
export function newScanRecord(start: ScanStart, now: Date): ScanRecord {
  if (!Number.isInteger(start.targets) || start.targets < 0) throw new Error("targets must be a whole number");
  if (!Number.isInteger(start.shards) || start.shards < 0) throw new Error("shards must be a whole number");
  const startedAt = canonicalTime(start.startedAt ?? now.toISOString());
  return {
    scanId: start.scanId,
    startedAt,
    completedAt: start.shards === 0 ? startedAt : null,
    targets: start.targets,
    shards: start.shards,
    shardsDone: 0,
    countsByState: {},
    accountsRead: start.accountsRead ?? [],
    regionsRead: start.regionsRead ?? [],
    // More than a handful are kept summarised by source and error class (docs/readme-store.md, "Scan records").
    gaps: summariseGaps(start.gaps ?? []),
  };
}

/** Throws on a count that is not a whole number or a state that does not exist; returns the entries. */
export function shardCounts(report: ShardReport): [string, number][] {
  return Object.entries(report.countsByState).map(([state, count]) => {
    // Probe errors are counted per scan (coverage gaps), never recorded as an endpoint's state.
    if (state !== PROBE_ERROR && !(PROBE_STATES as readonly string[]).includes(state)) {
      throw new Error(`unknown probe state "${state}"`);
    }
    if (!Number.isInteger(count) || (count ?? 0) < 0) throw new Error(`count for ${state} must be a whole number`);
    return [state, count as number];
  });
}
