// A second process on a store file, for the tests that two processes may share one (store-sqlite.test.ts):
//   node test/helpers/sqlite-writer.ts PATH observations JSON   records each ProbeResult in the JSON array
//   node test/helpers/sqlite-writer.ts PATH shard JSON          records one ShardReport
// Prints the results as JSON lines.
import type { ProbeResult } from "../../shared/exposure/model.ts";
import { SqliteDatabase } from "../../shared/store/sqlite/database.ts";
import { SqliteExposureStore } from "../../shared/store/sqlite/sqlite-store.ts";
import type { ShardReport } from "../../shared/store/store.ts";

const [path, kind, json] = process.argv.slice(2);
const db = new SqliteDatabase({ path: path! });
const store = new SqliteExposureStore({ db });
try {
  if (kind === "observations") {
    for (const result of JSON.parse(json!) as ProbeResult[]) {
      process.stdout.write(`${JSON.stringify(await store.recordObservation(result))}\n`);
    }
  } else if (kind === "shard") {
    process.stdout.write(`${JSON.stringify(await store.recordShard(JSON.parse(json!) as ShardReport))}\n`);
  } else {
    throw new Error(`unknown kind ${kind}`);
  }
} finally {
  db.close();
}
