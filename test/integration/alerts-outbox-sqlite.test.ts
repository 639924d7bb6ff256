// The laptop's alert delivery state in the embedded store's file (shared/alerts/outbox-sqlite.ts): the
// same ledger and outbox behaviour as the file-based one, kept across processes opening the file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type AlertDeliverer, deliverThroughOutbox } from "../../shared/alerts/deliver.ts";
import { SqliteOutbox } from "../../shared/alerts/outbox-sqlite.ts";
import { DeliveryError } from "../../shared/alerts/retry.ts";
import { SqliteDatabase } from "../../shared/store/sqlite/database.ts";
import { alertOf } from "../unit/alerts-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "exposure-outbox-"));
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

describe("the SQLite delivery ledger and outbox", () => {
  it("keeps pending alerts in order and marks across reopening the file", async () => {
    const path = join(dir, "order.sqlite");
    const [a, b, c] = [alertOf("newly-unauthenticated"), alertOf("new-finding"), alertOf("resolved")];
    let db = new SqliteDatabase({ path });
    const outbox = new SqliteOutbox(db);
    await outbox.add([b, a]);
    await outbox.add([a, c]); // a is held already: ignored, the order stays
    await outbox.mark(`${a.id}|console`);
    await outbox.mark(`${a.id}|console`); // marking twice is harmless
    db.close();

    db = new SqliteDatabase({ path });
    try {
      const reopened = new SqliteOutbox(db);
      expect((await reopened.pending()).map((alert) => alert.id)).toEqual([b.id, a.id, c.id]);
      expect(await reopened.pending()).toContainEqual(a);
      expect(await reopened.has(`${a.id}|console`)).toBe(true);
      expect(await reopened.has(`${a.id}|jsonl`)).toBe(false);
      await reopened.settle([a.id, "not-held"]);
      expect((await reopened.pending()).map((alert) => alert.id)).toEqual([b.id, c.id]);
    } finally {
      db.close();
    }
  });

  it("a failed channel gets the alert on the next run, the others never twice", async () => {
    const db = new SqliteDatabase({ path: join(dir, "runs.sqlite") });
    try {
      const console = channel("console");
      const webhook = channel("webhook");
      const alert = alertOf("newly-unauthenticated");
      webhook.state.down = true;
      const first = await deliverThroughOutbox([alert], [console.deliverer, webhook.deliverer], new SqliteOutbox(db));
      expect(first).toMatchObject({ pending: 1, failed: [{ alertId: alert.id, deliverer: "webhook" }] });
      webhook.state.down = false;
      // A later run (a new process: a new outbox object on the same file) with the same alert redelivered.
      const second = await deliverThroughOutbox([alert], [console.deliverer, webhook.deliverer], new SqliteOutbox(db));
      expect(second.delivered).toEqual([{ alertId: alert.id, deliverer: "webhook" }]);
      expect(second.pending).toBe(0);
      expect(console.got).toEqual([alert.id]);
      expect(webhook.got).toEqual([alert.id]);
      expect(await new SqliteOutbox(db).pending()).toEqual([]);
    } finally {
      db.close();
    }
  });
});
