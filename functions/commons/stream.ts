// A DynamoDB stream record of a state-change event item back into the domain's StateChangeEvent:
// the item is the event plus key and index attributes (shared/store/dynamo-store.ts), which are dropped.
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import type { StateChangeEvent } from "../../shared/exposure/model.ts";
import { ITEM_TYPE, TABLE_SCHEMA } from "../../shared/store/schema.ts";

const STORAGE_ATTRIBUTES = new Set<string>([
  TABLE_SCHEMA.partitionKey,
  TABLE_SCHEMA.sortKey,
  TABLE_SCHEMA.ttlAttribute,
  "type",
  ...Object.values(TABLE_SCHEMA.indexes).flatMap((index) => [index.partitionKey, index.sortKey]),
]);

/**
 * The event an INSERT record carries, or null for any other record (a modified or removed item, another
 * item kind): events are immutable, so only their insertion means anything to notify.
 */
export function eventFromStreamRecord(record: DynamoDBRecord): StateChangeEvent | null {
  const image = record.dynamodb?.NewImage;
  if (record.eventName !== "INSERT" || image === undefined) return null;
  const item = unmarshall(image as Record<string, AttributeValue>);
  if (item.type !== ITEM_TYPE.event) return null;
  if (typeof item.eventId !== "string" || typeof item.endpoint !== "string" || !Array.isArray(item.alerts)) {
    // An event item without its fields is a bug upstream: fail, so the record ends in the on-failure queue.
    throw new Error(`stream record ${record.eventID ?? "?"} holds a malformed state-change event`);
  }
  return Object.fromEntries(
    Object.entries(item).filter(([name]) => !STORAGE_ATTRIBUTES.has(name)),
  ) as unknown as StateChangeEvent;
}
