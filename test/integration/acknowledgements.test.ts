// Acknowledgements on the embedded store (the same methods the DynamoDB store passes in the store
// contract): an acknowledged exposure's notifications are held back, not paged, until the
// acknowledgement ends; its expiry with the endpoint still exposed alerts exactly once; a revoked one
// pages again; the report lists every acknowledgement of its period.
import { describe, expect, it } from "vitest";
import { deliverExpiryAlerts } from "../../shared/alerts/ack-expiry.ts";
import { holdAcknowledged } from "../../shared/alerts/acknowledged.ts";
import type { Alert } from "../../shared/alerts/alert.ts";
import type { AlertDeliverer, DeliveryLedger } from "../../shared/alerts/deliver.ts";
import { deliverEventAlerts } from "../../shared/alerts/notify.ts";
import { type Acknowledgement, acknowledgementId } from "../../shared/exposure/acknowledgement.ts";
import { buildReport } from "../../shared/report/report.ts";
import { SqliteDatabase } from "../../shared/store/sqlite/database.ts";
import { SqliteExposureStore } from "../../shared/store/sqlite/sqlite-store.ts";
import { minutes, observation } from "../helpers/observations.ts";

const ENDPOINT = "203.0.113.10:6379";

function newStore() {
  return new SqliteExposureStore({ db: new SqliteDatabase({ path: ":memory:" }) });
}

function ack(createdAt: string, until: string, endpoint = ENDPOINT): Acknowledgement {
  return {
    id: acknowledgementId(endpoint, createdAt),
    endpoint,
    reason: "honeypot of the red team",
    author: "alice",
    createdAt,
    until,
    revokedAt: null,
    revokedBy: null,
    expiryAlertedAt: null,
  };
}

class Recorder implements AlertDeliverer, DeliveryLedger {
  readonly name = "pager";
  readonly sent: Alert[] = [];
  readonly marks = new Set<string>();
  async deliver(alert: Alert) {
    this.sent.push(alert);
  }
  async has(key: string) {
    return this.marks.has(key);
  }
  async mark(key: string) {
    this.marks.add(key);
  }
}

describe("acknowledgements and paging", () => {
  it("holds back an acknowledged endpoint's notifications while in force, pages them before and after", async () => {
    const store = newStore();
    await store.putAcknowledgement(ack(minutes(10), minutes(60)));
    const recorded = [
      await store.recordObservation(observation("auth-required", minutes(5))), // before: pages
      await store.recordObservation(observation("open-unauthenticated", minutes(20))), // acknowledged: held
      await store.recordObservation(observation("open-unauthenticated", minutes(30), { ip: "198.51.100.7" })), // other endpoint
    ];
    const events = recorded.flatMap((result) => (result.event ? [result.event] : []));
    const pager = new Recorder();
    const report = await deliverEventAlerts(events, [pager], pager, {
      acknowledgements: await store.listAcknowledgements(),
    });
    expect(pager.sent.map((a) => `${a.target} ${a.kind}`)).toEqual([
      `${ENDPOINT} newly-internet-facing`,
      "198.51.100.7:6379 newly-unauthenticated",
    ]);
    expect(report.held.map(({ alert, ack: a }) => `${alert.target} ${alert.kind} ${a.author}`)).toEqual([
      `${ENDPOINT} newly-unauthenticated alice`,
    ]);
    expect(report.failed).toEqual([]);
  });

  it("pages again once the acknowledgement is revoked", async () => {
    const store = newStore();
    await store.putAcknowledgement(ack(minutes(0), minutes(600)));
    await store.revokeAcknowledgements(ENDPOINT, minutes(15), "bob");
    const { event } = await store.recordObservation(observation("open-unauthenticated", minutes(20)));
    const held = holdAcknowledged(
      [(await deliverEventAlerts([event!], [], new Recorder())).notifications[0]!],
      await store.listAcknowledgements(),
    );
    expect(held.held).toEqual([]);
    expect(held.page).toHaveLength(1);
  });

  it("alerts exactly once when an acknowledgement expires with the endpoint still exposed", async () => {
    const store = newStore();
    await store.recordObservation(observation("open-unauthenticated", minutes(5)));
    await store.putAcknowledgement(ack(minutes(10), minutes(60)));
    const pager = new Recorder();
    const deliver = (at: string) =>
      deliverExpiryAlerts({ store, deliverers: [pager], ledger: pager, now: new Date(at) });

    expect((await deliver(minutes(59))).alerts).toEqual([]); // not yet expired
    const expired = await deliver(minutes(61));
    expect(expired.alerts).toHaveLength(1);
    expect(pager.sent).toHaveLength(1);
    expect(pager.sent[0]).toMatchObject({ target: ENDPOINT, kind: "newly-unauthenticated", severity: "critical" });
    expect(pager.sent[0]!.remediation[0]).toContain('acknowledgement by alice ("honeypot of the red team") expired');
    expect((await deliver(minutes(75))).alerts).toEqual([]); // once
    expect(pager.sent).toHaveLength(1);
    expect((await store.listAcknowledgements())[0]!.expiryAlertedAt).toBe(minutes(61));
  });

  it("does not alert on expiry when the endpoint is no longer exposed, or a newer acknowledgement covers it", async () => {
    const store = newStore();
    await store.recordObservation(observation("open-unauthenticated", minutes(5)));
    await store.recordObservation(observation("open-unauthenticated", minutes(5), { ip: "198.51.100.7" }));
    for (const at of [minutes(20), minutes(30)]) await store.recordObservation(observation("closed", at));
    await store.putAcknowledgement(ack(minutes(10), minutes(60)));
    await store.putAcknowledgement(ack(minutes(10), minutes(60), "198.51.100.7:6379"));
    await store.putAcknowledgement(ack(minutes(50), minutes(600), "198.51.100.7:6379"));
    const pager = new Recorder();
    const result = await deliverExpiryAlerts({ store, deliverers: [pager], ledger: pager, now: new Date(minutes(70)) });
    expect(result.alerts).toEqual([]);
    expect(pager.sent).toEqual([]);
  });

  it("the report lists every acknowledgement in force during its period", async () => {
    const store = newStore();
    const inside = ack(minutes(10), minutes(60));
    const before = ack(minutes(-600), minutes(-300));
    const overlapping = ack(minutes(-30), minutes(5), "198.51.100.7:6379");
    for (const a of [inside, before, overlapping]) await store.putAcknowledgement(a);
    const report = buildReport({
      period: { from: minutes(0), to: minutes(120) },
      scans: [],
      events: [],
      scheduleIntervalMs: 900_000,
      generatedAt: minutes(200),
      table: "test",
      acknowledgements: await store.listAcknowledgements(),
    });
    expect(report.acknowledgements.map((a) => a.id)).toEqual([overlapping.id, inside.id]);
  });
});
