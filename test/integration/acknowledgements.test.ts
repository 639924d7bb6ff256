// Acknowledgements on the embedded store (the same methods the DynamoDB store passes in the store
// contract): an acknowledged exposure's notifications are held back, not paged, until the
// acknowledgement ends; its expiry with the endpoint still exposed is recorded as one event (delivered like
// any other, also when recorded after later events were delivered); a revoked one pages again; the report
// lists every acknowledgement of its period. Through the laptop cycle: test/integration/monitor.test.ts.
import { describe, expect, it } from "vitest";
import { recordExpiryEvents } from "../../shared/alerts/ack-expiry.ts";
import { holdAcknowledged } from "../../shared/alerts/acknowledged.ts";
import { type Alert, notificationFor } from "../../shared/alerts/alert.ts";
import type { AlertDeliverer, DeliveryLedger } from "../../shared/alerts/deliver.ts";
import { SqliteDeliveryState } from "../../shared/alerts/ledger-sqlite.ts";
import { deliverEventAlerts, deliverRecordedEvents } from "../../shared/alerts/notify.ts";
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
    expect(pager.sent.map((a) => `${a.endpoint} ${a.kind}`)).toEqual([
      `${ENDPOINT} newly-internet-facing`,
      "198.51.100.7:6379 newly-unauthenticated",
    ]);
    expect(report.held.map(({ alert, ack: a }) => `${alert.endpoint} ${alert.kind} ${a.author}`)).toEqual([
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

  it("records one expiry event when an acknowledgement expires with the endpoint still exposed, once", async () => {
    const store = newStore();
    await store.recordObservation(observation("open-unauthenticated", minutes(5)));
    await store.putAcknowledgement(ack(minutes(10), minutes(60)));
    const record = (at: string) => recordExpiryEvents({ store, recorder: store, now: new Date(at) });

    expect(await record(minutes(59))).toEqual({ recorded: [], notExposed: 0 }); // not yet expired
    const expired = await record(minutes(61));
    expect(expired.recorded).toHaveLength(1);
    expect(expired.recorded[0]).toMatchObject({
      endpoint: ENDPOINT,
      at: minutes(60),
      alerts: ["newly-unauthenticated"],
    });
    expect((await store.history(ENDPOINT)).items.at(-1)).toEqual(expired.recorded[0]);
    expect(await record(minutes(75))).toEqual({ recorded: [], notExposed: 0 }); // once
    expect((await store.listAcknowledgements())[0]!.expiryAlertedAt).toBe(minutes(61));
    // A second process that read the acknowledgement before the mark: its write is refused whole.
    const [acknowledged] = await store.listAcknowledgements();
    expect(
      await store.recordExpiryEvent({ ...acknowledged!, expiryAlertedAt: null }, expired.recorded[0]!, minutes(62)),
    ).toBe(false);
    expect((await store.history(ENDPOINT)).items).toHaveLength(2);
  });

  it("records no expiry event when the endpoint is no longer exposed, or a newer acknowledgement covers it", async () => {
    const store = newStore();
    await store.recordObservation(observation("open-unauthenticated", minutes(5)));
    await store.recordObservation(observation("open-unauthenticated", minutes(5), { ip: "198.51.100.7" }));
    for (const at of [minutes(20), minutes(30)]) await store.recordObservation(observation("closed", at));
    await store.putAcknowledgement(ack(minutes(10), minutes(60)));
    await store.putAcknowledgement(ack(minutes(10), minutes(60), "198.51.100.7:6379"));
    await store.putAcknowledgement(ack(minutes(50), minutes(600), "198.51.100.7:6379"));
    const result = await recordExpiryEvents({ store, recorder: store, now: new Date(minutes(70)) });
    expect(result).toEqual({ recorded: [], notExposed: 2 }); // both only marked
    const marked = (await store.listAcknowledgements()).filter((a) => a.expiryAlertedAt !== null);
    expect(marked.map((a) => a.endpoint).sort()).toEqual(["198.51.100.7:6379", ENDPOINT]);
  });

  it("an expiry recorded behind the delivery watermark moves it back, so it is delivered, once", async () => {
    const db = new SqliteDatabase({ path: ":memory:" });
    const store = new SqliteExposureStore({ db });
    const deliveryState = new SqliteDeliveryState(db);
    const pager = new Recorder();
    const deliver = (at: string) =>
      deliverRecordedEvents({
        store,
        deliverers: [pager],
        ledger: deliveryState,
        watermark: deliveryState,
        now: new Date(at),
      });
    await store.recordObservation(observation("open-unauthenticated", minutes(5)));
    await store.putAcknowledgement(ack(minutes(10), minutes(60)));
    // Another endpoint changes after the acknowledgement expired, and is delivered before the expiry is recorded.
    await store.recordObservation(observation("open-unauthenticated", minutes(70), { ip: "198.51.100.7" }));
    await deliver(minutes(71));
    expect(pager.sent.map((alert) => alert.endpoint)).toEqual([ENDPOINT, "198.51.100.7:6379"]);
    expect(await deliveryState.read()).toBe("2026-03-01T11:10:00.001Z");

    const { recorded } = await recordExpiryEvents({ store, recorder: store, now: new Date(minutes(75)) });
    expect(await deliveryState.read()).toBe(minutes(60));
    await deliver(minutes(76));
    expect(pager.sent.map((alert) => alert.endpoint)).toEqual([ENDPOINT, "198.51.100.7:6379", ENDPOINT]);
    expect(pager.sent[2]!.id).toBe(notificationFor(recorded[0]!)!.id);
    expect(pager.sent[2]!.remediation[0]).toContain('acknowledgement by alice ("honeypot of the red team") expired');
    await deliver(minutes(77));
    expect(pager.sent).toHaveLength(3);
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
