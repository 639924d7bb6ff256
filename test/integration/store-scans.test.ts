// Scan records as two items (shared/store/dynamo-scans.ts): meta written once, progress in no index,
// coverage gaps summarised so that 10,000 of them still make a small record.
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { gapCount, MAX_GAP_DETAILS } from "../../shared/exposure/gaps.ts";
import type { CoverageGap } from "../../shared/exposure/model.ts";
import { SCAN_PROGRESS_SK } from "../../shared/store/items.ts";
import { SCAN_SK, scanPk, TABLE_SCHEMA } from "../../shared/store/schema.ts";
import { useDynamoLocal } from "../helpers/dynamo.ts";

const dynamodb = useDynamoLocal();

const accounts = Array.from({ length: 500 }, (_, i) => String(100_000_000_000 + i));
const regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "me-south-1"];

describe("scan records", () => {
  it("10,000 coverage gaps make a record of a few kilobytes, summarised by source and error class", async () => {
    const store = await dynamodb.newStore({ scanRetentionDays: 400 });
    const gaps: CoverageGap[] = [];
    for (let i = 0; i < 10_000; i++) {
      gaps.push({
        accountId: accounts[i % 500],
        region: regions[i % 5],
        source: i % 2 ? "ec2:DescribeNetworkInterfaces" : "ec2:DescribeAddresses",
        error: i % 10 === 0 ? "UnauthorizedOperation: explicit deny in a service control policy" : "AccessDenied: no",
      });
    }
    const { scan } = await store.startScan({
      scanId: "scan-gaps",
      startedAt: "2026-11-20T10:00:00.000Z",
      targets: 4,
      shards: 2,
      accountsRead: accounts,
      regionsRead: regions,
      gaps,
    });
    expect(gapCount(scan.gaps)).toBe(10_000);
    expect(scan.gaps.length).toBeLessThanOrEqual(4);
    // Every such gap was in us-east-1, so the summary keeps the region.
    expect(scan.gaps).toContainEqual({
      region: "us-east-1",
      source: "ec2:DescribeAddresses",
      error: "UnauthorizedOperation",
      count: 1_000,
    });

    const item = async (SK: string) =>
      (await dynamodb.client.send(new GetCommand({ TableName: store.tableName, Key: { PK: scanPk("scan-gaps"), SK } })))
        .Item!;
    const meta = await item(SCAN_SK);
    expect(JSON.stringify(meta).length).toBeLessThan(12_000);
    expect(meta[TABLE_SCHEMA.ttlAttribute]).toBe(Date.parse("2026-11-20T10:00:00.000Z") / 1000 + 400 * 86_400);

    // Shards update only the small progress item, which is in no index; the meta item is never rewritten.
    await store.recordShard({ scanId: "scan-gaps", shardId: "1/2", countsByState: { closed: 2 } });
    await store.recordShard({ scanId: "scan-gaps", shardId: "1/2", countsByState: { closed: 2 } });
    const done = await store.recordShard({ scanId: "scan-gaps", shardId: "2/2", countsByState: { filtered: 2 } });
    expect(done).toMatchObject({ counted: true, completed: true });
    expect(done.scan).toMatchObject({
      shardsDone: 2,
      countsByState: { closed: 2, filtered: 2 },
      accountsRead: accounts,
    });
    expect(await item(SCAN_SK)).toEqual(meta);
    const progress = await item(SCAN_PROGRESS_SK);
    for (const index of Object.values(TABLE_SCHEMA.indexes)) expect(progress).not.toHaveProperty(index.partitionKey);
    expect(JSON.stringify(progress).length).toBeLessThan(500);

    const listed = await store.listScans({ from: "2026-11-20T00:00:00.000Z", to: "2026-11-21T00:00:00.000Z" });
    expect(listed.items).toEqual([done.scan]);
    expect(await store.getScan("scan-gaps")).toEqual(done.scan);
  });

  it("keeps a handful of gaps one by one", async () => {
    const store = await dynamodb.newStore();
    const gaps = Array.from({ length: MAX_GAP_DETAILS }, (_, i) => ({
      accountId: accounts[i] as string,
      source: "sts:AssumeRole",
      error: "AccessDenied: not authorized to perform sts:AssumeRole",
    }));
    const { scan } = await store.startScan({ scanId: "scan-few", targets: 0, shards: 0, gaps });
    expect(scan.gaps).toEqual(gaps);
    expect((await store.getScan("scan-few"))?.gaps).toEqual(gaps);
  });
});
