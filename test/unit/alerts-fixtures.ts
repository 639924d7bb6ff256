// Builders for state-change events and alerts shared by the alert tests.
import { type Alert, alertsFromEvent } from "../../shared/alerts/alert.ts";
import type { AlertKind, Asset, ProbeState, ServerFacts, StateChangeEvent } from "../../shared/exposure/model.ts";
import { exposureOf } from "../../shared/exposure/model.ts";

export const WEB_1: Asset = {
  provider: "aws",
  accountId: "111122223333",
  region: "eu-west-1",
  resourceType: "ec2-instance",
  resourceId: "i-0abc1234def567890",
  name: "web-1",
};

export const REDIS_7_2_4: ServerFacts = { product: "redis", version: "7.2.4", mode: "standalone", role: "master" };

export function stateChangeEvent(overrides: Partial<StateChangeEvent> & { state?: ProbeState } = {}): StateChangeEvent {
  const state = overrides.state ?? "open-unauthenticated";
  const { state: _omit, ...rest } = overrides;
  return {
    eventId: `evt-${state}-${Math.random().toString(36).slice(2)}`,
    endpoint: "203.0.113.10:6379",
    ip: "203.0.113.10",
    port: 6379,
    at: "2026-11-22T03:00:05.123Z",
    previous: { state: "auth-required", exposure: "reachable" },
    current: { state, exposure: exposureOf(state), tls: false, server: REDIS_7_2_4 },
    findings: [],
    newFindings: [],
    alerts: ["newly-unauthenticated"],
    asset: WEB_1,
    firstSeenAt: "2026-11-20T10:00:00.000Z",
    ...rest,
  };
}

export function alertOf(kind: AlertKind, overrides: Partial<StateChangeEvent> & { state?: ProbeState } = {}): Alert {
  const [alert] = alertsFromEvent(stateChangeEvent({ alerts: [kind], ...overrides }));
  if (!alert) throw new Error("the event raised no alert");
  return alert;
}
