// The store on a laptop: DynamoDB Local under <store-dir>/dynamodb, the table created on first use.
//
// Two commands on one store directory (say `exposure watch` running and `exposure history` in another
// terminal) must not open the same database file from two JVMs. The one that starts DynamoDB Local
// writes <store-dir>/dynamodb/server.json; a second command that finds it alive reuses that server and
// leaves it running when it closes.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createLocalDocumentClient } from "./client.ts";
import { DynamoExposureStore } from "./dynamo-store.ts";
import { type LocalDynamo, startLocalDynamo } from "./local-dynamo.ts";
import { DEFAULT_TABLE_NAME } from "./schema.ts";
import { ensureTable } from "./table.ts";

export const DEFAULT_STORE_DIR = ".exposure";

export interface LocalStoreOptions {
  /** Default ".exposure" in the working directory. */
  storeDir?: string;
  /** Keep nothing on disk (tests, demos). */
  inMemory?: boolean;
  tableName?: string;
  now?: () => Date;
}

export interface LocalStore {
  store: DynamoExposureStore;
  endpoint: string;
  /** How long DynamoDB Local took to answer; 0 when an already running one was reused. */
  startupMs: number;
  close(): Promise<void>;
}

interface ServerFile {
  pid: number;
  endpoint: string;
}

async function runningServer(file: string): Promise<ServerFile | null> {
  let server: ServerFile;
  try {
    server = JSON.parse(readFileSync(file, "utf8")) as ServerFile;
    process.kill(server.pid, 0);
  } catch {
    return null;
  }
  try {
    await fetch(server.endpoint, { method: "POST", signal: AbortSignal.timeout(2_000) });
    return server;
  } catch {
    return null;
  }
}

export async function openLocalStore(options: LocalStoreOptions = {}): Promise<LocalStore> {
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const dataDir = join(resolve(options.storeDir ?? DEFAULT_STORE_DIR), "dynamodb");
  const serverFile = join(dataDir, "server.json");

  let dynamo: LocalDynamo | null = null;
  let endpoint: string;
  const reused = options.inMemory ? null : await runningServer(serverFile);
  if (reused) {
    endpoint = reused.endpoint;
  } else {
    dynamo = await startLocalDynamo(options.inMemory ? { inMemory: true } : { dataDir });
    endpoint = dynamo.endpoint;
    if (!options.inMemory) writeFileSync(serverFile, JSON.stringify({ pid: dynamo.pid, endpoint }));
  }
  const client = createLocalDocumentClient(endpoint);
  try {
    await ensureTable(client, tableName);
  } catch (error) {
    client.destroy();
    await dynamo?.stop();
    throw error;
  }
  const started = dynamo;
  return {
    store: new DynamoExposureStore({ client, tableName, ...(options.now ? { now: options.now } : {}) }),
    endpoint,
    startupMs: started?.startupMs ?? 0,
    async close() {
      client.destroy();
      if (started === null) return;
      if (!options.inMemory) rmSync(serverFile, { force: true });
      await started.stop();
    },
  };
}
