// One DynamoDB Local per test file (in memory, random port), a fresh table per test.
// If Java is missing, beforeAll fails with the launcher's one-line message: every test in the file fails
// loudly rather than being skipped.
import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { createLocalDocumentClient } from "../../shared/store/client.ts";
import { DynamoExposureStore, type DynamoStoreOptions } from "../../shared/store/dynamo-store.ts";
import { type LocalDynamo, startLocalDynamo } from "../../shared/store/local-dynamo.ts";
import { ensureTable } from "../../shared/store/table.ts";

export interface DynamoLocalFixture {
  readonly dynamo: LocalDynamo;
  readonly client: DynamoDBDocumentClient;
  /** Creates a table with a unique name and returns a store on it. */
  newStore(options?: Omit<DynamoStoreOptions, "client" | "tableName">): Promise<DynamoExposureStore>;
}

export function useDynamoLocal(): DynamoLocalFixture {
  let dynamo: LocalDynamo | undefined;
  let client: DynamoDBDocumentClient | undefined;

  beforeAll(async () => {
    dynamo = await startLocalDynamo({ inMemory: true });
    client = createLocalDocumentClient(dynamo.endpoint);
  }, 120_000);

  afterAll(async () => {
    client?.destroy();
    await dynamo?.stop();
  });

  const started = () => {
    if (!dynamo || !client) throw new Error("DynamoDB Local did not start (see the beforeAll error)");
    return { dynamo, client };
  };

  return {
    get dynamo() {
      return started().dynamo;
    },
    get client() {
      return started().client;
    },
    async newStore(options = {}) {
      const { client } = started();
      const tableName = `exposure-test-${randomUUID().slice(0, 8)}`;
      await ensureTable(client, tableName);
      return new DynamoExposureStore({ client, tableName, ...options });
    },
  };
}
