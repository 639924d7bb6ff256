// The laptop's alert delivery state in the embedded store's file (shared/alerts/ledger-sqlite.ts): the
// ledger and the delivery watermark, kept across processes opening the file, driving the same delivery
// path as the notify function (shared/alerts/notify.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { AlertDeliverer } from "../../shared/alerts/deliver.ts";
import { SqliteDeliveryState } from "../../shared/alerts/ledger-sqlite.ts";
import { DeliveryError } from "../../shared/alerts/retry.ts";
import { SqliteDatabase } from "../../shared/store/sqlite/database.ts";
import { alertOf, deliverAsLaptop, EVENT_AT } from "../unit/alerts-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "exposure-ledger-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A channel that records what it got and fails while `down` is set. */
function channel(name: string) {
  const got: string[] = [];
  const state = { down: false };
  const deliverer: AlertDeliverer = {
    name,
    async deliver(alert) {
      if (state.down) throw new DeliveryError(`${name} is down`, { retryable: true });
      got.push(alert.id);
    },
  };
  return { deliverer, got, state };
}

describe("the SQLite delivery ledger and watermark", () => {
  it("keeps marks and the watermark across reopening the file", async () => {
    const path = join(dir, "reopen.sqlite");
    const alert = alertOf("newly-unauthenticated");
    let db = new SqliteDatabase({ path });
    const state = new SqliteDeliveryState(db);
    expect(await state.read()).toBeNull();
    await state.mark(`${alert.id}|console`);
    await state.mark(`${alert.id}|console`); // marking twice is harmless
    await state.write("2026-11-22T03:00:00.000Z");
    await state.write(EVENT_AT);
    db.close();

    db = new SqliteDatabase({ path });
    try {
      const reopened = new SqliteDeliveryState(db);
      expect(await reopened.has(`${alert.id}|console`)).toBe(true);
      expect(await reopened.has(`${alert.id}|jsonl`)).toBe(false);
      expect(await reopened.read()).toBe(EVENT_AT);
    } finally {
      db.close();
    }
  });

  it("a failed channel gets the alert on the next run, the others never twice", async () => {
    const db = new SqliteDatabase({ path: join(dir, "runs.sqlite") });
    const runDir = join(dir, "runs");
    try {
      const console = channel("console");
      const webhook = channel("webhook");
      const alert = alertOf("newly-unauthenticated");
      webhook.state.down = true;
      const deliverers = [console.deliverer, webhook.deliverer];
      const first = await deliverAsLaptop([alert], deliverers, runDir, new SqliteDeliveryState(db));
      expect(first).toMatchObject({ pending: 1, failed: [{ alertId: alert.id, deliverer: "webhook" }] });
      expect(await new SqliteDeliveryState(db).read()).toBe(EVENT_AT);
      webhook.state.down = false;
      // A later run (a new process: new state objects on the same file) with nothing new recorded.
      const second = await deliverAsLaptop([], deliverers, runDir, new SqliteDeliveryState(db));
      expect(second.delivered).toEqual([{ alertId: alert.id, deliverer: "webhook" }]);
      expect(second.pending).toBe(0);
      expect(console.got).toEqual([alert.id]);
      expect(webhook.got).toEqual([alert.id]);
      const third = await deliverAsLaptop([], deliverers, runDir, new SqliteDeliveryState(db));
      expect(third).toEqual({ delivered: [], alreadyDelivered: [], failed: [], pending: 0 });
    } finally {
      db.close();
    }
  });
});
