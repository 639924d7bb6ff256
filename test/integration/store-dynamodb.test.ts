// The DynamoDB store against a real DynamoDB Local (one per file, a fresh table per test): the store
// contract (store-contract.ts), then what only the DynamoDB items show.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { eventFromItem } from "../../shared/store/items.ts";
import { JavaMissingError, startLocalDynamo } from "../../shared/store/local-dynamo.ts";
import { endpointPk, eventSk, STATE_SK, TABLE_SCHEMA } from "../../shared/store/schema.ts";
import { useDynamoLocal } from "../helpers/dynamo.ts";
import { legacyRecord } from "../helpers/legacy-records.ts";
import { minutes, observation, T0 } from "../helpers/observations.ts";
import { storeContract } from "./store-contract.ts";

const dynamodb = useDynamoLocal();
const ENDPOINT = "203.0.113.10:6379";

describe("the store contract on DynamoDB Local", () => {
  storeContract({
    newStore: (options) => dynamodb.newStore(options),
    rawRecord: async (store, endpoint) =>
      (
        await dynamodb.client.send(
          new GetCommand({ TableName: store.tableName, Key: { PK: endpointPk(endpoint), SK: STATE_SK } }),
        )
      ).Item as { version: number } | undefined,
  });
});

describe("DynamoDB items", () => {
  it("puts a ttl on events (not on the current state) when a retention is set", async () => {
    const store = await dynamodb.newStore({ retentionDays: 30 });
    const { event } = await store.recordObservation(observation("busy", minutes(0)));
    const item = async (SK: string) =>
      (
        await dynamodb.client.send(
          new GetCommand({ TableName: store.tableName, Key: { PK: endpointPk(ENDPOINT), SK } }),
        )
      ).Item;
    const eventItem = await item(eventSk(event!.at, event!.eventId));
    expect(eventItem?.[TABLE_SCHEMA.ttlAttribute]).toBe((T0 + 30 * 86_400_000) / 1000);
    expect(eventItem?.type).toBe("event");
    expect(await item(STATE_SK)).not.toHaveProperty(TABLE_SCHEMA.ttlAttribute);
    // The domain objects never show storage attributes.
    expect((await store.history(ENDPOINT)).items[0]).toEqual(event);
  });
});

describe("DynamoDB Local (a test dependency)", () => {
  it("says in one line that Java is needed when there is no java on PATH", async () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), "no-java-"));
    try {
      const failure = await startLocalDynamo({ inMemory: true }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(JavaMissingError);
      expect((failure as Error).message).toMatch(/needs Java 17 or newer.*`java` was not found/);
      expect((failure as Error).message).not.toContain("\n");
    } finally {
      rmSync(process.env.PATH, { recursive: true, force: true });
      process.env.PATH = path;
    }
  });

  it("refuses a persistent start without a directory", async () => {
    await expect(startLocalDynamo({})).rejects.toThrow(/needs dataDir/);
  });
});

describe("items written before results named their protocol", () => {
  it("read back as the protocol field, for the store and the stream consumer alike", async () => {
    const store = await dynamodb.newStore();
    const { event } = await store.recordObservation(observation("open-unauthenticated", minutes(0)));
    const state = await store.getEndpoint(ENDPOINT);
    expect(state?.protocol).toMatchObject({ name: "redis", product: "redis", version: "7.2.4" });
    for (const SK of [STATE_SK, eventSk(event!.at, event!.eventId)]) {
      const Key = { PK: endpointPk(ENDPOINT), SK };
      const { Item } = await dynamodb.client.send(new GetCommand({ TableName: store.tableName, Key }));
      await dynamodb.client.send(new PutCommand({ TableName: store.tableName, Item: legacyRecord(Item!) }));
    }
    const { Item: oldEvent } = await dynamodb.client.send(
      new GetCommand({
        TableName: store.tableName,
        Key: { PK: endpointPk(ENDPOINT), SK: eventSk(event!.at, event!.eventId) },
      }),
    );
    expect(oldEvent?.current).toHaveProperty("server");
    expect(eventFromItem(oldEvent!)).toEqual(event);
    expect(await store.getEndpoint(ENDPOINT)).toEqual(state);
    expect((await store.history(ENDPOINT)).items).toEqual([event]);
    // Unchanged facts in the old shape are the same facts: the next observation is no event.
    const next = await store.recordObservation(observation("open-unauthenticated", minutes(15)));
    expect(next.event).toBeUndefined();
  });
});
