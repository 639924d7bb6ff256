// The store on a laptop: the embedded SQLite store (sqlite/), one file under the store directory
// (default .exposure/ in the working directory). It runs inside the command's own process: nothing
// listens on any port, and opening it takes milliseconds. Several commands may use one directory at
// once (say `exposure watch` running and `exposure exposed` in another terminal): the file is in WAL
// mode and every write is a transaction (sqlite/database.ts).
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { SqliteDatabase } from "./sqlite/database.ts";
import { SqliteExposureStore } from "./sqlite/sqlite-store.ts";

export const DEFAULT_STORE_DIR = ".exposure";
/** The database file inside the store directory. */
export const STORE_FILE = "store.sqlite";

export interface LocalStoreOptions {
  /** Default ".exposure" in the working directory. */
  storeDir?: string;
  /** Keep nothing on disk (tests, the demo). */
  inMemory?: boolean;
  /** Refuse a directory without a store instead of creating one (the read commands). */
  mustExist?: boolean;
  now?: () => Date;
}

export interface LocalStore {
  store: SqliteExposureStore;
  db: SqliteDatabase;
  /** The database file, or ":memory:". */
  path: string;
  /** How long opening took, ms. */
  startupMs: number;
  close(): Promise<void>;
}

/** There is no store where one was expected; `storeDir` is as the user gave it. */
export class MissingStoreError extends Error {
  override name = "MissingStoreError";
  readonly storeDir: string;
  constructor(storeDir: string, earlierDynamoLocal = false) {
    super(
      earlierDynamoLocal
        ? `no store in ${storeDir}: its dynamodb/ directory is the DynamoDB Local data of an earlier version, which is not read any more (run exposure scan to start the embedded store)`
        : `no store in ${storeDir} (nothing recorded yet: run exposure scan first, or give --store-dir)`,
    );
    this.storeDir = storeDir;
  }
}

export function localStorePath(storeDir: string = DEFAULT_STORE_DIR): string {
  return join(resolve(storeDir), STORE_FILE);
}

export async function openLocalStore(options: LocalStoreOptions = {}): Promise<LocalStore> {
  const started = performance.now();
  const storeDir = options.storeDir ?? DEFAULT_STORE_DIR;
  const path = options.inMemory ? ":memory:" : localStorePath(storeDir);
  if (options.mustExist && !options.inMemory && !existsSync(path)) {
    throw new MissingStoreError(storeDir, existsSync(join(resolve(storeDir), "dynamodb")));
  }
  const db = new SqliteDatabase({ path });
  let open = true;
  return {
    store: new SqliteExposureStore({ db, ...(options.now ? { now: options.now } : {}) }),
    db,
    path,
    startupMs: performance.now() - started,
    async close() {
      if (open) db.close();
      open = false;
    },
  };
}
