// The store on a laptop: DynamoDB Local under <store-dir>/dynamodb, the table created on first use.
//
// Two commands on one store directory (say `exposure watch` running and `exposure history` in another
// terminal) must not open the same database file from two JVMs. The one that starts DynamoDB Local
// writes <store-dir>/dynamodb/server.json; a second command that finds it alive reuses that server and
// leaves it running when it closes. A server whose owner was killed (so never stopped it) is adopted by
// the next command, which stops it when it closes.
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
  /** The DynamoDB Local (java) process. */
  pid: number;
  /** The command that started it and will stop it. */
  ownerPid: number;
  endpoint: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Guards against a recycled pid: on Linux, only a process running the DynamoDB Local jar counts. */
function isDynamoLocal(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("DynamoDBLocal.jar");
  } catch {
    return process.platform !== "linux" && alive(pid);
  }
}

async function runningServer(file: string): Promise<ServerFile | null> {
  let server: ServerFile;
  try {
    server = JSON.parse(readFileSync(file, "utf8")) as ServerFile;
  } catch {
    return null;
  }
  if (!isDynamoLocal(server.pid)) return null;
  try {
    await fetch(server.endpoint, { method: "POST", signal: AbortSignal.timeout(2_000) });
    return server;
  } catch {
    return null;
  }
}

/** Stops a DynamoDB Local this process did not start (one left behind by a command that was killed). */
async function stopAdopted(pid: number): Promise<void> {
  if (!isDynamoLocal(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 5_000;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      break;
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}

export async function openLocalStore(options: LocalStoreOptions = {}): Promise<LocalStore> {
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const dataDir = join(resolve(options.storeDir ?? DEFAULT_STORE_DIR), "dynamodb");
  const serverFile = join(dataDir, "server.json");

  // Three cases: start our own server; borrow one whose owner is still running (and leave it running);
  // or adopt one whose owner died without stopping it (and stop it when we close).
  let started: LocalDynamo | null = null;
  let adoptedPid: number | null = null;
  let endpoint: string;
  const running = options.inMemory ? null : await runningServer(serverFile);
  if (running) {
    endpoint = running.endpoint;
    if (!alive(running.ownerPid)) {
      adoptedPid = running.pid;
      writeFileSync(serverFile, JSON.stringify({ ...running, ownerPid: process.pid } satisfies ServerFile));
    }
  } else {
    started = await startLocalDynamo(options.inMemory ? { inMemory: true } : { dataDir });
    endpoint = started.endpoint;
    if (!options.inMemory) {
      writeFileSync(
        serverFile,
        JSON.stringify({ pid: started.pid, ownerPid: process.pid, endpoint } satisfies ServerFile),
      );
    }
  }
  const owned = started !== null || adoptedPid !== null;
  const stopServer = async () => {
    if (!owned) return;
    if (!options.inMemory) rmSync(serverFile, { force: true });
    if (started) await started.stop();
    else if (adoptedPid !== null) await stopAdopted(adoptedPid);
  };

  const client = createLocalDocumentClient(endpoint);
  try {
    await ensureTable(client, tableName);
  } catch (error) {
    client.destroy();
    await stopServer();
    throw error;
  }
  return {
    store: new DynamoExposureStore({ client, tableName, ...(options.now ? { now: options.now } : {}) }),
    endpoint,
    startupMs: started?.startupMs ?? 0,
    async close() {
      client.destroy();
      await stopServer();
    },
  };
}
