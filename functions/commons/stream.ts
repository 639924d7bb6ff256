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

export function eventFromStreamRecord(record: DynamoDBRecord): StateChangeEvent {
  const image = record.dynamodb?.NewImage;
  if (image === undefined) throw new Error(`stream record ${record.eventID ?? "?"} has no new image`);
  const item = unmarshall(image as Record<string, AttributeValue>);
  if (item.type !== ITEM_TYPE.event || typeof item.eventId !== "string") {
    throw new Error(`stream record ${record.eventID ?? "?"} is not a state-change event item`);
  }
  return Object.fromEntries(
    Object.entries(item).filter(([name]) => !STORAGE_ATTRIBUTES.has(name)),
  ) as unknown as StateChangeEvent;
}
