// Builders for state-change events and alerts shared by the alert tests.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Alert, alertsFromEvent } from "../../shared/alerts/alert.ts";
import type { AlertDeliverer, DeliveryLedger } from "../../shared/alerts/deliver.ts";
import { SqliteDeliveryState } from "../../shared/alerts/ledger-sqlite.ts";
import { type DeliveryWatermark, deliverRecordedEvents } from "../../shared/alerts/notify.ts";
import type { AlertKind, Asset, ProbeState, StateChangeEvent } from "../../shared/exposure/model.ts";
import { exposureOf } from "../../shared/exposure/model.ts";
import { type RedisFacts, redisFacts, type ServerFacts } from "../../shared/probe/redis/facts.ts";
import { SqliteDatabase } from "../../shared/store/sqlite/database.ts";

export const WEB_1: Asset = {
  provider: "aws",
  accountId: "111122223333",
  region: "eu-west-1",
  resourceType: "ec2-instance",
  resourceId: "i-0abc1234def567890",
  name: "web-1",
};

export const REDIS_7_2_4_INFO: ServerFacts = { product: "redis", version: "7.2.4", mode: "standalone", role: "master" };
export const REDIS_7_2_4: RedisFacts = redisFacts(REDIS_7_2_4_INFO);

/** The time every fixture event is observed at (unless overridden). */
export const EVENT_AT = "2026-11-22T03:00:05.123Z";

export function stateChangeEvent(overrides: Partial<StateChangeEvent> & { state?: ProbeState } = {}): StateChangeEvent {
  const state = overrides.state ?? "open-unauthenticated";
  const { state: _omit, ...rest } = overrides;
  return {
    eventId: `evt-${state}-${Math.random().toString(36).slice(2)}`,
    endpoint: "203.0.113.10:6379",
    ip: "203.0.113.10",
    port: 6379,
    at: EVENT_AT,
    previous: { state: "auth-required", exposure: "reachable" },
    current: { state, exposure: exposureOf(state), tls: false, protocol: REDIS_7_2_4 },
    findings: [],
    newFindings: [],
    alerts: ["newly-unauthenticated"],
    asset: WEB_1,
    firstSeenAt: "2026-11-20T10:00:00.000Z",
    ...rest,
  };
}

/** The event each alertOf() alert came from, so delivery tests can record it. */
const EVENT_OF = new WeakMap<Alert, StateChangeEvent>();

export function alertOf(kind: AlertKind, overrides: Partial<StateChangeEvent> & { state?: ProbeState } = {}): Alert {
  const event = stateChangeEvent({ alerts: [kind], ...overrides });
  const [alert] = alertsFromEvent(event);
  if (!alert) throw new Error("the event raised no alert");
  EVENT_OF.set(alert, event);
  return alert;
}

/** Events recorded so far per delivery directory: the store the laptop's delivery reads from. */
const RECORDED = new Map<string, StateChangeEvent[]>();

/**
 * One laptop delivery run (shared/alerts/notify.ts deliverRecordedEvents) as the monitor makes it after a
 * cycle that recorded the events of `alerts`: events since the watermark in `dir`, the file ledger there.
 * `pending` counts the events whose notification some channel still lacks.
 */
export async function deliverAsLaptop(
  alerts: readonly Alert[],
  deliverers: readonly AlertDeliverer[],
  dir: string,
  state?: DeliveryLedger & DeliveryWatermark,
) {
  const recorded = RECORDED.get(dir) ?? [];
  RECORDED.set(dir, recorded);
  for (const alert of alerts) {
    const event = EVENT_OF.get(alert);
    if (!event) throw new Error("deliverAsLaptop takes alerts made by alertOf()");
    if (!recorded.some((known) => known.eventId === event.eventId)) recorded.push(event);
  }
  const store = {
    async eventsBetween(range: { from: string; to: string }) {
      const items = recorded
        .filter((event) => event.at >= range.from && event.at < range.to)
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
      return { items };
    },
    async listAcknowledgements() {
      return [];
    },
  };
  const last = recorded.reduce((latest, event) => (event.at > latest ? event.at : latest), "1970-01-01T00:00:00.000Z");
  const report = await deliverRecordedEvents({
    store,
    deliverers,
    ledger: state ?? deliveryStateIn(dir),
    watermark: state ?? deliveryStateIn(dir),
    now: new Date(Date.parse(last) + 1_000),
  });
  return {
    delivered: report.delivered,
    alreadyDelivered: report.alreadyDelivered,
    failed: report.failed,
    pending: report.failedEventIds.length,
  };
}

const DATABASES = new Map<string, SqliteDatabase>();

/**
 * The delivery state (ledger and watermark) of an embedded store in `dir`, as the laptop keeps it. Every call
 * for one directory reads the same file, like a later run of the command would.
 */
export function deliveryStateIn(dir: string): SqliteDeliveryState {
  let db = DATABASES.get(dir);
  if (!db) {
    mkdirSync(dir, { recursive: true });
    db = new SqliteDatabase({ path: join(dir, "store.sqlite") });
    DATABASES.set(dir, db);
  }
  return new SqliteDeliveryState(db);
}
