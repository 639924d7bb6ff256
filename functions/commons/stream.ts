// A DynamoDB stream record of a state-change event item back into the domain's StateChangeEvent, through
// the same item codec the store reads with (shared/store/items.ts).
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import type { StateChangeEvent } from "../../shared/exposure/model.ts";
import { eventFromItem, isEventItem } from "../../shared/store/items.ts";

/**
 * The event an INSERT record carries, or null for any other record (a modified or removed item, another
 * item kind): events are immutable, so only their insertion means anything to notify.
 */
export function eventFromStreamRecord(record: DynamoDBRecord): StateChangeEvent | null {
  const image = record.dynamodb?.NewImage;
  if (record.eventName !== "INSERT" || image === undefined) return null;
  const item = unmarshall(image as Record<string, AttributeValue>);
  if (!isEventItem(item)) return null;
  try {
    return eventFromItem(item);
  } catch (error) {
    // An event item without its fields is a bug upstream: fail, so the record ends in the on-failure queue.
    throw new Error(`stream record ${record.eventID ?? "?"} holds a malformed state-change event`, { cause: error });
  }
}
