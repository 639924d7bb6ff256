// Reports, findings and verify against a real DynamoDB Local seeded with the known history of
// test/unit/report-fixture.ts: the store-backed report must equal the one computed by hand, and the
// CLI (`--table NAME --region R`, the deployed-table code path) must print the same bytes.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  asffFindings,
  loadCurrentExposures,
  loadRecentlyResolved,
  openFindingsNow,
} from "../../shared/report/current.ts";
import { type HistorySubject, loadReportInput, queryHistory } from "../../shared/report/queries.ts";
import { renderReport } from "../../shared/report/render/index.ts";
import { buildReport } from "../../shared/report/report.ts";
import type { DynamoExposureStore } from "../../shared/store/dynamo-store.ts";
import { openLocalStore } from "../../shared/store/local-store.ts";
import { SqliteExposureStore } from "../../shared/store/sqlite/sqlite-store.ts";
import { useDynamoLocal } from "../helpers/dynamo.ts";
import { observation } from "../helpers/observations.ts";
import { fixtureInput, GENERATED_AT, HOUR, PERIOD } from "../unit/report-fixture.ts";
import { seedFixtureHistory } from "./report-seed.ts";

const run = promisify(execFile);
const dynamodb = useDynamoLocal();
const CLI = join(import.meta.dirname, "../../cli/exposure.ts");

describe("report from DynamoDB Local", () => {
  let store: DynamoExposureStore;
  let dir: string;
  let clock = "2026-01-01T00:00:00.000Z";

  beforeAll(async () => {
    store = await dynamodb.newStore({ now: () => new Date(clock) });
    await seedFixtureHistory(store, (iso) => {
      clock = iso;
    });
    dir = await mkdtemp(join(tmpdir(), "report-store-"));
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function cli(args: string[]) {
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.dynamo.endpoint,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_REGION: "us-east-1",
    };
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
  }

  it("equals the hand-computed report, byte for byte", async () => {
    const input = await loadReportInput(store, {
      period: PERIOD,
      scheduleIntervalMs: HOUR,
      now: new Date(GENERATED_AT),
      table: "exposure-monitor-test",
    });
    const fromStore = buildReport(input);
    const byHand = buildReport(fixtureInput());
    expect(fromStore.windows.map((w) => w.endpoint)).toEqual(byHand.windows.map((w) => w.endpoint));
    expect(renderReport(fromStore, "json")).toBe(renderReport(byHand, "json"));
    // Only the events that matter were read from before the period: the open windows' openings.
    expect(
      input.events
        .filter((e) => e.at < PERIOD.from)
        .map((e) => e.endpoint)
        .sort(),
    ).toEqual(
      ["203.0.113.10:6379", "203.0.113.10:6379", "203.0.113.30:6380", "203.0.113.50:6379", "203.0.113.60:6379"].sort(),
    );
  });

  it("lists what is exposed now with since when, and archives what was resolved", async () => {
    const now = new Date("2026-03-02T06:00:00.000Z");
    const exposures = await loadCurrentExposures(store);
    // C's record says since 22:00 (a finding appeared then); it has been unauthenticated since 20:00.
    expect(exposures.map((e) => [e.state.endpoint, e.state.since, e.levelSince, e.exposedSince])).toEqual([
      ["198.51.100.7:6379", "2026-03-01T22:00:00.000Z", "2026-03-01T20:00:00.000Z", "2026-03-01T20:00:00.000Z"],
      ["203.0.113.50:6379", "2026-02-25T00:00:00.000Z", "2026-02-25T00:00:00.000Z", "2026-02-25T00:00:00.000Z"],
    ]);
    expect(openFindingsNow(exposures, now).map((f) => [f.severity, f.endpoint, f.findingId])).toEqual([
      ["critical", "198.51.100.7:6379", "CVE-2025-49844"],
      ["critical", "198.51.100.7:6379", "exposure:unauthenticated"],
      ["critical", "198.51.100.7:6379", "ioc:rogue-master"],
      ["high", "203.0.113.50:6379", "exposure:reachable"],
    ]);
    const resolved = await loadRecentlyResolved(store, "2026-03-01T00:00:00.000Z", now.toISOString());
    expect(resolved.map((s) => s.endpoint)).toEqual([
      "203.0.113.10:6379",
      "203.0.113.20:6379",
      "203.0.113.30:6380",
      "203.0.113.60:6379",
    ]);
  });

  it("answers history questions by endpoint, IP, account, resource and range, with windows and their durations", async () => {
    const march = { from: "2026-03-01T00:00:00.000Z", to: "2026-04-01T00:00:00.000Z" };
    const now = new Date(GENERATED_AT);
    const ask = async (subject: HistorySubject, range: { from?: string; to?: string } = march) => {
      const { events, windows } = await queryHistory(store, subject, range, now);
      return {
        events: events.length,
        windows: windows.map((w) => [w.endpoint, w.level, w.start, w.end, w.durationInPeriodMs / HOUR]),
      };
    };
    // "Was 203.0.113.10 reachable in March, and for how long?" The window began in February.
    expect(await ask({ kind: "endpoint", endpoint: "203.0.113.10:6379" })).toEqual({
      events: 1,
      windows: [["203.0.113.10:6379", "unauthenticated", "2026-02-28T20:00:00.000Z", "2026-03-01T02:00:00.000Z", 2]],
    });
    expect(await ask({ kind: "ip", ip: "203.0.113.20" })).toEqual({
      events: 4,
      windows: [
        ["203.0.113.20:6379", "reachable", "2026-03-01T05:00:00.000Z", "2026-03-01T06:00:00.000Z", 1],
        ["203.0.113.20:6379", "unauthenticated", "2026-03-01T10:00:00.000Z", "2026-03-01T14:00:00.000Z", 4],
      ],
    });
    expect((await ask({ kind: "owner", accountId: "222222222222" })).windows.map((w) => w[0])).toEqual([
      "203.0.113.20:6379",
      "203.0.113.20:6379",
      "198.51.100.7:6379",
    ]);
    // No change in March, exposed all along: the window still shows, clipped to the range.
    expect(await ask({ kind: "owner", accountId: "111111111111", resourceId: "i-0ggg" })).toEqual({
      events: 0,
      windows: [["203.0.113.50:6379", "reachable", "2026-02-25T00:00:00.000Z", null, 31 * 24]],
    });
    expect((await ask({ kind: "resource", resourceId: "eni-0bbb" })).events).toBe(4);
    const day = await ask({ kind: "all" }, PERIOD);
    expect(day.events).toBe(8);
    expect(day.windows.map((w) => w[0])).toEqual([
      "203.0.113.30:6380",
      "203.0.113.10:6379",
      "203.0.113.20:6379",
      "203.0.113.20:6379",
      "198.51.100.7:6379",
    ]);
  });

  it("the CLI against the table prints the same CSV, writes a manifest that verify accepts, and catches tampering", {
    timeout: 120_000,
  }, async () => {
    const out = join(dir, "march.csv");
    const made = await cli([
      "report",
      "--table",
      store.tableName,
      "--region",
      "us-east-1",
      "--from",
      PERIOD.from,
      "--to",
      PERIOD.to,
      "--interval",
      "1h",
      "--out",
      out,
    ]);
    expect(made.stderr).toBe("");
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^wrote .*march\.csv \(sha256 [0-9a-f]{64}\) and .*march\.csv\.manifest\.json\n$/);
    const csv = await readFile(out, "utf8");
    expect(csv).toBe(renderReport(buildReport(fixtureInput()), "csv"));
    const manifest = JSON.parse(await readFile(`${out}.manifest.json`, "utf8"));
    expect(manifest).toMatchObject({
      period: PERIOD,
      table: `table ${store.tableName} (us-east-1)`,
      format: "csv",
      file: "march.csv",
    });

    const ok = await cli(["verify", out, `${out}.manifest.json`]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK: march\.csv matches its manifest/);
    expect(ok.stdout.trim().split("\n")).toHaveLength(1);

    await writeFile(out, csv.replace("203.0.113.10", "203.0.113.11"));
    const bad = await cli(["verify", out, `${out}.manifest.json`]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^MISMATCH: march\.csv has sha256/);
    expect(bad.stdout.trim().split("\n")).toHaveLength(1);
  });

  it("the CLI writes a month's HTML report and the ASFF findings", async () => {
    const html = join(dir, "march.html");
    const made = await cli([
      "report",
      "--table",
      store.tableName,
      "--region",
      "us-east-1",
      "--month",
      "2026-03",
      "--out",
      html,
    ]);
    expect(made.code).toBe(0);
    const text = await readFile(html, "utf8");
    expect(text).toContain("Redis exposure report 2026-03-01T00:00:00.000Z to 2026-04-01T00:00:00.000Z");
    expect(text.match(/<tr class="(reachable|unauthenticated)"/g)).toHaveLength(7);

    // Archiving resolved endpoints is covered above (loadRecentlyResolved); here the default 7 days finds none.
    const asff = await cli([
      "findings",
      "--format",
      "asff",
      "--table",
      store.tableName,
      "--region",
      "us-east-1",
      "--hub-account",
      "999999999999",
    ]);
    expect(asff.stderr).toBe("");
    const findings = JSON.parse(asff.stdout) as Array<{
      RecordState: string;
      Resources: Array<{ Id: string }>;
      ProductArn: string;
      Severity: { Label: string };
    }>;
    expect(findings.map((f) => [f.RecordState, f.Severity.Label, f.Resources.at(-1)!.Id])).toEqual([
      ["ACTIVE", "CRITICAL", "198.51.100.7:6379"],
      ["ACTIVE", "HIGH", "203.0.113.50:6379"],
    ]);
    expect(new Set(findings.map((f) => f.ProductArn))).toEqual(
      new Set(["arn:aws:securityhub:us-east-1:999999999999:product/999999999999/default"]),
    );
  }, 120_000);

  it("bad input ends in one line and exit 2", { timeout: 120_000 }, async () => {
    for (const args of [
      ["report", "--from", "yesterday-ish"],
      ["report", "--month", "2026-13"],
      ["report", "--from", "2026-03-01", "--format", "pdf"],
      ["findings", "--format", "asff"],
      ["verify", "only-one-arg"],
      ["verify", join(dir, "missing.html"), join(dir, "missing.json")],
    ]) {
      const result = await cli(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe("report from the local embedded store", () => {
  it("prints the same CSV with --store-dir as with --table", { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "report-local-"));
    const storeDir = join(dir, ".exposure");
    // Seed through a store with a settable clock on the local store's own database file, then close
    // it; the CLI opens the same file.
    const local = await openLocalStore({ storeDir });
    try {
      let clock = "2026-01-01T00:00:00.000Z";
      const store = new SqliteExposureStore({ db: local.db, now: () => new Date(clock) });
      await seedFixtureHistory(store, (iso) => {
        clock = iso;
      });
      await local.close();
      const { stdout, stderr } = await run(
        process.execPath,
        [
          CLI,
          "report",
          "--store-dir",
          storeDir,
          "--from",
          PERIOD.from,
          "--to",
          PERIOD.to,
          "--interval",
          "1h",
          "--format",
          "csv",
        ],
        { timeout: 120_000 },
      );
      expect(stderr).toBe("");
      expect(stdout).toBe(renderReport(buildReport(fixtureInput()), "csv"));
    } finally {
      await local.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("lastObservedAt in reports and ASFF findings", () => {
  it("is the time of the last scan that observed an unchanged exposed endpoint, not of its last change", async () => {
    const store = await dynamodb.newStore();
    const at = (minute: number) => new Date(Date.parse("2026-03-01T10:00:00.000Z") + minute * 60_000).toISOString();
    const sweep = async (minute: number, scanId: string) => {
      const result = observation("open-unauthenticated", at(minute), { ip: "203.0.113.77" });
      await (await store.beginShard(["203.0.113.77:6379"], { scanId })).record([result]);
    };
    await sweep(0, "scan-1");
    await sweep(15, "scan-2");
    await sweep(30, "scan-3");
    const exposures = await loadCurrentExposures(store);
    expect(exposures.map(({ state }) => [state.endpoint, state.since, state.lastObservedAt])).toEqual([
      ["203.0.113.77:6379", at(0), at(30)],
    ]);
    const [finding] = asffFindings(exposures, [], { securityHubAccountId: "111122223333", region: "us-east-1" });
    expect(finding?.LastObservedAt).toBe(at(30));
    expect(finding?.FirstObservedAt).toBe(at(0));
  });
});
