// Scan records on DynamoDB as two items (docs/readme-store.md, "Scan records"): the meta item (accounts,
// regions, gaps summarised) written once when the scan starts and listed by day through GSI2, and a small
// progress item in no index that each shard updates exactly once. A shard's update therefore costs a
// write unit or two whatever the organization's size or its number of coverage gaps.
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { ScanRecord } from "../exposure/model.ts";
import { newScanRecord, shardCounts } from "./contract.ts";
import { type Item, SCAN_PROGRESS_SK, scanFromItems, scanMetaItem, scanProgressItem } from "./items.ts";
import { SCAN_SK, scanPk } from "./schema.ts";
import type { ScanStart, ShardReport, ShardResult } from "./store.ts";

export interface DynamoScansOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  now: () => Date;
  retentionDays?: number;
}

const isConditionFailure = (error: unknown) =>
  error instanceof Error &&
  (error.name === "ConditionalCheckFailedException" ||
    (error.name === "TransactionCanceledException" &&
      ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).some(
        (reason) => reason.Code === "ConditionalCheckFailed",
      )));

export class DynamoScans {
  readonly #o: DynamoScansOptions;

  constructor(options: DynamoScansOptions) {
    this.#o = options;
  }

  async startScan(start: ScanStart): Promise<{ created: boolean; scan: ScanRecord }> {
    const scan = newScanRecord(start, this.#o.now());
    const { tableName, retentionDays } = this.#o;
    try {
      await this.#o.client.send(
        new TransactWriteCommand({
          TransactItems: [scanMetaItem(scan, retentionDays), scanProgressItem(scan, retentionDays)].map((Item) => ({
            Put: { TableName: tableName, Item, ConditionExpression: "attribute_not_exists(PK)" },
          })),
        }),
      );
      return { created: true, scan };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.getScan(start.scanId);
      if (existing === null) throw error;
      return { created: false, scan: existing };
    }
  }

  async recordShard(report: ShardReport): Promise<ShardResult> {
    const names: Record<string, string> = {};
    const values: Item = { ":one": 1, ":shard": new Set([report.shardId]), ":shardId": report.shardId };
    const sets: string[] = [];
    shardCounts(report).forEach(([state, count], i) => {
      names[`#s${i}`] = state;
      values[`:n${i}`] = count;
      values[":zero"] = 0;
      sets.push(`countsByState.#s${i} = if_not_exists(countsByState.#s${i}, :zero) + :n${i}`);
    });
    const key = { PK: scanPk(report.scanId), SK: SCAN_PROGRESS_SK };
    const { client, tableName } = this.#o;

    let progress: Item;
    let counted: boolean;
    try {
      const { Attributes } = await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          // The shard id goes into a string set in the same write that adds its counts, and the write is
          // refused if the set already has it: a redelivered shard is never counted twice.
          UpdateExpression: `${sets.length ? `SET ${sets.join(", ")} ` : ""}ADD shardsDone :one, doneShards :shard`,
          ConditionExpression: "attribute_exists(PK) AND NOT contains(doneShards, :shardId)",
          ...(sets.length ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        }),
      );
      progress = Attributes as Item;
      counted = true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.#progress(report.scanId);
      if (existing === undefined) throw new Error(`unknown scan "${report.scanId}"`);
      progress = existing;
      counted = false;
    }
    const done = Number(progress.shardsDone ?? 0);
    // Also tried on a redelivery: the process that counted the last shard may have died before closing it.
    if (progress.completedAt !== undefined || done < Number(progress.shards)) {
      return { counted, completed: false, scan: await this.#withMeta(report.scanId, progress) };
    }
    try {
      const { Attributes } = await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: "SET completedAt = :now",
          ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(completedAt) AND shardsDone >= shards",
          ExpressionAttributeValues: { ":now": this.#o.now().toISOString() },
          ReturnValues: "ALL_NEW",
        }),
      );
      return { counted, completed: true, scan: await this.#withMeta(report.scanId, Attributes as Item) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const latest = (await this.#progress(report.scanId)) ?? progress;
      return { counted, completed: false, scan: await this.#withMeta(report.scanId, latest) };
    }
  }

  /** Both items in one consistent query. */
  async getScan(scanId: string): Promise<ScanRecord | null> {
    const { Items = [] } = await this.#o.client.send(
      new QueryCommand({
        TableName: this.#o.tableName,
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": scanPk(scanId) },
        ConsistentRead: true,
      }),
    );
    const meta = Items.find((item) => item.SK === SCAN_SK);
    return meta
      ? scanFromItems(
          meta,
          Items.find((item) => item.SK === SCAN_PROGRESS_SK),
        )
      : null;
  }

  /** Meta items (from the by-day index) completed with their progress items. */
  async withProgress(metas: Item[]): Promise<ScanRecord[]> {
    const { client, tableName } = this.#o;
    const progress = new Map<string, Item>();
    const keys = metas.map((meta) => ({ PK: meta.PK as string, SK: SCAN_PROGRESS_SK }));
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Item[] | undefined = keys.slice(i, i + 100);
      while (pending && pending.length > 0) {
        const output: BatchGetCommandOutput = await client.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending } } }),
        );
        for (const item of output.Responses?.[tableName] ?? []) progress.set(item.PK as string, item);
        pending = output.UnprocessedKeys?.[tableName]?.Keys;
      }
    }
    return metas.map((meta) => scanFromItems(meta, progress.get(meta.PK as string)));
  }

  async #progress(scanId: string): Promise<Item | undefined> {
    const { Item } = await this.#o.client.send(
      new GetCommand({
        TableName: this.#o.tableName,
        Key: { PK: scanPk(scanId), SK: SCAN_PROGRESS_SK },
        ConsistentRead: true,
      }),
    );
    return Item;
  }

  async #withMeta(scanId: string, progress: Item): Promise<ScanRecord> {
    const { Item } = await this.#o.client.send(
      new GetCommand({ TableName: this.#o.tableName, Key: { PK: scanPk(scanId), SK: SCAN_SK }, ConsistentRead: true }),
    );
    if (Item === undefined) throw new Error(`unknown scan "${scanId}"`);
    return scanFromItems(Item, progress);
  }
}
