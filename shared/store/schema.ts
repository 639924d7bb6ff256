// The single DynamoDB table: key names, indexes and the key of every item kind, in one place.
// The CDK stack defines the same table from TABLE_SCHEMA, and createTableInput() builds it locally,
// so the two cannot drift apart.
//
// Items (every key attribute is a string):
//
//   kind   PK                      SK                        GSI keys (only where present)
//   state  ENDPOINT#<ip:port>      STATE                     GSI1 (exposed now; only while exposure != none)
//                                                            GSI3 (by IP)  GSI4 (by owner account; only with an owner)
//   event  ENDPOINT#<ip:port>      EVENT#<at>#<eventId>      GSI2 (events by day)
//   scan   SCAN#<scanId>           SCAN                      GSI2 (scans by day; written once)
//          SCAN#<scanId>           PROGRESS                  none (shard counts, completedAt)
//   digest DIGEST#<bucket, 3 hex>  DIGEST                    none (digest.ts: one per stable hash bucket)
//   seen   SEEN#<bucket, 3 hex>    SEEN                      none (seen.ts: who was observed when, 128 buckets)
//
//   GSI1  GSI1PK = "EXPOSED"                 GSI1SK = <exposure code>#<worst finding code>#<since>#<endpoint>
//         exposure code 1 = unauthenticated, 2 = reachable; finding code 0 = critical ... 4 = info, 5 = none,
//         so an ascending query returns the most severe first, then the longest exposed.
//   GSI2  GSI2PK = "EVENTS#<yyyy-mm-dd>"     GSI2SK = <at>#<endpoint>#<eventId>
//         GSI2PK = "SCANS#<yyyy-mm-dd>"      GSI2SK = <startedAt>#<scanId>
//         One partition per UTC day keeps any day's writes and reads on a bounded partition.
//   GSI3  GSI3PK = "IP#<ip>"                 GSI3SK = <port, 5 digits>
//   GSI4  GSI4PK = "OWNER#<accountId>"       GSI4SK = <resourceId>#<endpoint>
//
// Access patterns:
//   current state of an endpoint       GetItem PK=ENDPOINT#e, SK=STATE (consistent read)
//   history of an endpoint             Query PK=ENDPOINT#e, SK between EVENT#<from> and EVENT#<to>
//   all endpoints of an IP             Query GSI3 GSI3PK=IP#ip
//   what is exposed now                Query GSI1 GSI1PK=EXPOSED (ascending = most severe first)
//   events in a time range             Query GSI2 GSI2PK=EVENTS#day for each day, GSI2SK between from and to
//   scans in a time range              Query GSI2 GSI2PK=SCANS#day for each day
//   endpoints of an owner / resource   Query GSI4 GSI4PK=OWNER#account [, begins_with(GSI4SK, resourceId#)]
//   a scan record                      GetItem PK=SCAN#id, SK=SCAN
//
// `ttl` (epoch seconds) is reserved for retention; the stream (NEW_IMAGE) feeds the notify function,
// filtered to inserted items whose SK starts with EVENT# (equivalently `type = "event"`).
// Other parts keep their own items in this table under other PK prefixes (e.g. the alert delivery
// ledger, PK = DELIVERY#..., shared/alerts/ledger-dynamodb.ts).
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

export const DEFAULT_TABLE_NAME = "exposure-monitor";

export const TABLE_SCHEMA = {
  partitionKey: "PK",
  sortKey: "SK",
  /** Epoch seconds after which DynamoDB may delete the item. */
  ttlAttribute: "ttl",
  /** Sort keys of state-change events start with this (the notify stream filter can match on it). */
  eventSortKeyPrefix: "EVENT#",
  /** What the notify function reads; filter on NewImage.type = "event". */
  streamViewType: "NEW_IMAGE",
  /** All GSIs project ALL attributes: the items are small and every reader needs the whole record.
   *  Iterate with Object.values(TABLE_SCHEMA.indexes) to define them all. */
  indexes: {
    exposed: { name: "GSI1", partitionKey: "GSI1PK", sortKey: "GSI1SK" },
    byDay: { name: "GSI2", partitionKey: "GSI2PK", sortKey: "GSI2SK" },
    byIp: { name: "GSI3", partitionKey: "GSI3PK", sortKey: "GSI3SK" },
    byOwner: { name: "GSI4", partitionKey: "GSI4PK", sortKey: "GSI4SK" },
  },
} as const;

export type IndexSchema = (typeof TABLE_SCHEMA.indexes)[keyof typeof TABLE_SCHEMA.indexes];

/** The item kinds, stored in the `type` attribute (stream filters and debugging read it). */
export const ITEM_TYPE = {
  state: "state",
  event: "event",
  scan: "scan",
  scanProgress: "scan-progress",
  digest: "digest",
  seen: "seen",
} as const;

export const STATE_SK = "STATE";
export const SCAN_SK = "SCAN";
export const DIGEST_SK = "DIGEST";
export const SEEN_SK = "SEEN";
export const EXPOSED_PK = "EXPOSED";

export const endpointPk = (endpoint: string) => `ENDPOINT#${endpoint}`;
export const eventSk = (at: string, eventId: string) => `${TABLE_SCHEMA.eventSortKeyPrefix}${at}#${eventId}`;
export const scanPk = (scanId: string) => `SCAN#${scanId}`;
export const digestPk = (bucket: number) => `DIGEST#${bucket.toString(16).padStart(3, "0")}`;
export const seenPk = (bucket: number) => `SEEN#${bucket.toString(16).padStart(3, "0")}`;
export const eventsDayPk = (day: string) => `EVENTS#${day}`;
export const scansDayPk = (day: string) => `SCANS#${day}`;
export const ipPk = (ip: string) => `IP#${ip}`;
export const ownerPk = (accountId: string) => `OWNER#${accountId}`;

/** CreateTable input for this schema (on-demand billing, stream on; PITR and TTL are set by the CDK stack). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const indexes = Object.values(TABLE_SCHEMA.indexes);
  const attributeNames = [
    TABLE_SCHEMA.partitionKey,
    TABLE_SCHEMA.sortKey,
    ...indexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: attributeNames.map((name) => ({ AttributeName: name, AttributeType: "S" })),
    KeySchema: [
      { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: "HASH" },
      { AttributeName: TABLE_SCHEMA.sortKey, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: "HASH" },
        { AttributeName: index.sortKey, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "ALL" },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_SCHEMA.streamViewType },
  };
}
