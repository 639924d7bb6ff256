// How every command that reads or writes history opens the store: the embedded local store
// (DynamoDB Local under --store-dir, default .exposure/) or, with --table, a deployed table.
import { createDocumentClient } from "../shared/store/client.ts";
import { DynamoExposureStore } from "../shared/store/dynamo-store.ts";
import { DEFAULT_STORE_DIR, openLocalStore } from "../shared/store/local-store.ts";
import type { ExposureStore } from "../shared/store/store.ts";
import { UsageError } from "./args.ts";

export const STORE_OPTIONS = {
  "store-dir": { type: "string" },
  table: { type: "string" },
  region: { type: "string" },
} as const;

export const STORE_HELP = `  --store-dir DIR         local store directory (default ${DEFAULT_STORE_DIR}/ in the working directory)
  --table NAME            use a deployed DynamoDB table instead (standard AWS credentials)
  --region R              the deployed table's region (default: from the AWS configuration)`;

export interface OpenedStore {
  store: ExposureStore;
  /** "local store .exposure" or "table exposure-monitor (eu-west-1)". */
  label: string;
  /** The local store directory, when local (alerts.jsonl and delivery state live there). */
  storeDir: string | null;
  close(): Promise<void>;
}

export async function openStore(values: {
  "store-dir"?: string;
  table?: string;
  region?: string;
}): Promise<OpenedStore> {
  if (values.table !== undefined) {
    if (values["store-dir"] !== undefined) throw new UsageError("--table and --store-dir cannot be used together");
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(values.table))
      throw new UsageError(`--table: "${values.table}" is not a DynamoDB table name`);
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
  const local = await openLocalStore({ storeDir });
  return { store: local.store, label: `local store ${storeDir}`, storeDir, close: () => local.close() };
}
