// How every command that reads or writes history opens the store: the embedded local store
// (one SQLite file under --store-dir, default .exposure/; nothing listens on any port) or, with
// --table, a deployed table. The one place that decides either, and refuses a missing local store
// to the read commands.

import type { ExpiryEventRecorder } from "../shared/alerts/ack-expiry.ts";
import { SqliteDeliveryState } from "../shared/alerts/ledger-sqlite.ts";
import { DEFAULT_STORE_DIR, MissingStoreError, openLocalStore } from "../shared/store/local-store.ts";
import type { ExposureStore } from "../shared/store/store.ts";
import { UsageError } from "./args.ts";

export const STORE_OPTIONS = {
  "store-dir": { type: "string" },
  table: { type: "string" },
  region: { type: "string" },
} as const;

export const STORE_HELP = `  --store-dir DIR         local store directory (default ${DEFAULT_STORE_DIR}/ in the working directory):
                          one SQLite file in this process, no server
  --table NAME            use a deployed DynamoDB table instead (standard AWS credentials)
  --region R              the deployed table's region (default: from the AWS configuration)`;

export interface OpenedStore {
  store: ExposureStore;
  /** "local store .exposure" or "table exposure-monitor (eu-west-1)". */
  label: string;
  /** The local store directory, when local (alerts.jsonl lives there). */
  storeDir: string | null;
  /** The alert delivery ledger and watermark in the local store's file (with --table: none, see cli/monitor.ts). */
  deliveryState?: SqliteDeliveryState;
  /** Records acknowledgement expiries in the local store (with --table: none, the deployed enumerate does). */
  expiryRecorder?: ExpiryEventRecorder;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** "read": a command that only reads history; a local store that does not exist is a usage error
   *  (exit 2) rather than an empty store created on the spot. Default "write". */
  access?: "read" | "write";
}

export async function openStore(
  values: {
    "store-dir"?: string;
    table?: string;
    region?: string;
  },
  options: OpenStoreOptions = {},
): Promise<OpenedStore> {
  if (values.table !== undefined) {
    if (values["store-dir"] !== undefined) throw new UsageError("--table and --store-dir cannot be used together");
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(values.table))
      throw new UsageError(`--table: "${values.table}" is not a DynamoDB table name`);
    // Loaded only here: the AWS SDK is most of a read command's start-up time, and the local store needs none of it.
    const { createDocumentClient } = await import("../shared/store/client.ts");
    const { DynamoExposureStore } = await import("../shared/store/dynamo-store.ts");
    const client = createDocumentClient(values.region ? { region: values.region } : {});
    return {
      store: new DynamoExposureStore({ client, tableName: values.table }),
      label: `table ${values.table}${values.region ? ` (${values.region})` : ""}`,
      storeDir: null,
      async close() {
        client.destroy();
      },
    };
  }
  if (values.region !== undefined) throw new UsageError("--region goes with --table");
  const storeDir = values["store-dir"] ?? DEFAULT_STORE_DIR;
  let local: Awaited<ReturnType<typeof openLocalStore>>;
  try {
    local = await openLocalStore({ storeDir, mustExist: options.access === "read" });
  } catch (error) {
    if (error instanceof MissingStoreError) throw new UsageError(error.message);
    throw error;
  }
  return {
    store: local.store,
    label: `local store ${storeDir}`,
    storeDir,
    deliveryState: new SqliteDeliveryState(local.db),
    expiryRecorder: local.store,
    close: () => local.close(),
  };
}
