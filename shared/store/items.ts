// Item codecs: the one mapping between the domain's records (shared/exposure) and the table's items
// (schema.ts), used by the store (dynamo-store.ts) and by the stream consumer (functions/commons/stream.ts)
// alike, so what is written and what is read back cannot drift apart. docs/readme-store.md has the keys.
import { type ScanRecord, type StateChangeEvent, withProtocol } from "../exposure/model.ts";
import type { EndpointState } from "../exposure/transitions.ts";
import { DAY_MS, exposedSortKey, utcDay } from "./contract.ts";
import {
  EXPOSED_PK,
  endpointPk,
  eventSk,
  eventsDayPk,
  ITEM_TYPE,
  ipPk,
  ownerPk,
  SCAN_SK,
  STATE_SK,
  scanPk,
  scansDayPk,
  TABLE_SCHEMA,
} from "./schema.ts";

export type Item = Record<string, unknown>;

const { indexes } = TABLE_SCHEMA;

/** Attributes that exist only for storage (keys, index keys, type, ttl, bookkeeping): never part of a record. */
const STORAGE_ATTRIBUTES = new Set<string>([
  TABLE_SCHEMA.partitionKey,
  TABLE_SCHEMA.sortKey,
  TABLE_SCHEMA.ttlAttribute,
  "type",
  // The scan item's set of counted shard ids (dynamo-store.ts recordShard).
  "doneShards",
  ...Object.values(indexes).flatMap((index) => [index.partitionKey, index.sortKey]),
]);

/** An item without its storage attributes. */
export function recordOf<T>(item: Item): T {
  const result: Item = {};
  for (const [name, value] of Object.entries(item)) if (!STORAGE_ATTRIBUTES.has(name)) result[name] = value;
  return result as T;
}

/** `ttl` (epoch seconds) `retentionDays` after `at`, or nothing without a retention. */
export function ttlAttribute(at: string, retentionDays: number | undefined): Item {
  if (retentionDays === undefined) return {};
  return { [TABLE_SCHEMA.ttlAttribute]: Math.floor((Date.parse(at) + retentionDays * DAY_MS) / 1000) };
}

/**
 * A state or event record (an item without its storage attributes, or a row's JSON) in the current shape:
 * records of either shape read the same (docs/readme-probe.md, "Protocol facts").
 */
export function decodeRecord<T extends object>(record: T): T {
  const upgraded = withProtocol(record);
  const current = (upgraded as { current?: unknown }).current;
  if (typeof current !== "object" || current === null) return upgraded;
  return { ...upgraded, current: withProtocol(current) };
}

// ---- current state ---------------------------------------------------------------------------------

export function stateItem(state: EndpointState): Item {
  return {
    ...state,
    PK: endpointPk(state.endpoint),
    SK: STATE_SK,
    type: ITEM_TYPE.state,
    [indexes.byIp.partitionKey]: ipPk(state.ip),
    [indexes.byIp.sortKey]: String(state.port).padStart(5, "0"),
    ...(state.exposure !== "none"
      ? { [indexes.exposed.partitionKey]: EXPOSED_PK, [indexes.exposed.sortKey]: exposedSortKey(state) }
      : {}),
    ...(state.asset
      ? {
          [indexes.byOwner.partitionKey]: ownerPk(state.asset.accountId),
          [indexes.byOwner.sortKey]: `${state.asset.resourceId}#${state.endpoint}`,
        }
      : {}),
  };
}

export function stateFromItem(item: Item): EndpointState {
  return decodeRecord(recordOf<EndpointState>(item));
}

// ---- state-change events ----------------------------------------------------------------------------

export function eventItem(event: StateChangeEvent, retentionDays?: number): Item {
  return {
    ...event,
    PK: endpointPk(event.endpoint),
    SK: eventSk(event.at, event.eventId),
    type: ITEM_TYPE.event,
    [indexes.byDay.partitionKey]: eventsDayPk(utcDay(event.at)),
    [indexes.byDay.sortKey]: `${event.at}#${event.endpoint}#${event.eventId}`,
    ...ttlAttribute(event.at, retentionDays),
  };
}

export class MalformedItemError extends Error {
  override name = "MalformedItemError";
}

/** True for an item of a state-change event (what the notify stream filter passes). */
export function isEventItem(item: Item): boolean {
  return item.type === ITEM_TYPE.event;
}

/** The event an event item holds; an event item without its fields is a bug upstream and throws. */
export function eventFromItem(item: Item): StateChangeEvent {
  if (typeof item.eventId !== "string" || typeof item.endpoint !== "string" || !Array.isArray(item.alerts)) {
    throw new MalformedItemError("item holds a malformed state-change event");
  }
  return decodeRecord(recordOf<StateChangeEvent>(item));
}

// ---- scans -----------------------------------------------------------------------------------------

// A scan is two items (docs/readme-store.md, "Scan records"): the meta item, written once at the start
// (GSI2 lists it by day), and a small progress item in no index that every shard updates.

export const SCAN_PROGRESS_SK = "PROGRESS";

type ScanMeta = Omit<ScanRecord, "completedAt" | "shardsDone" | "countsByState">;

export function scanMetaItem(scan: ScanRecord, retentionDays?: number): Item {
  const { completedAt: _c, shardsDone: _d, countsByState: _s, ...meta } = scan;
  return {
    ...meta,
    PK: scanPk(scan.scanId),
    SK: SCAN_SK,
    type: ITEM_TYPE.scan,
    [indexes.byDay.partitionKey]: scansDayPk(utcDay(scan.startedAt)),
    [indexes.byDay.sortKey]: `${scan.startedAt}#${scan.scanId}`,
    ...ttlAttribute(scan.startedAt, retentionDays),
  };
}

/** The progress item of a new scan (completedAt left out while null, so a condition can test for it). */
export function scanProgressItem(scan: ScanRecord, retentionDays?: number): Item {
  return {
    PK: scanPk(scan.scanId),
    SK: SCAN_PROGRESS_SK,
    type: ITEM_TYPE.scanProgress,
    shards: scan.shards,
    shardsDone: scan.shardsDone,
    countsByState: scan.countsByState,
    ...(scan.completedAt ? { completedAt: scan.completedAt } : {}),
    ...ttlAttribute(scan.startedAt, retentionDays),
  };
}

/** The record from its meta item and progress item (a missing progress item: nothing counted yet). */
export function scanFromItems(meta: Item, progress: Item | undefined): ScanRecord {
  const record = recordOf<ScanMeta>(meta);
  return {
    ...record,
    completedAt: typeof progress?.completedAt === "string" ? progress.completedAt : null,
    shardsDone: Number(progress?.shardsDone ?? 0),
    countsByState: (progress?.countsByState as ScanRecord["countsByState"] | undefined) ?? {},
  };
}
