import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertId, alertsFromEvent, notificationFor } from "../../shared/alerts/alert.ts";
import type { AlertDeliverer } from "../../shared/alerts/deliver.ts";
import { deliverEventAlerts } from "../../shared/alerts/notify.ts";
import {
  type AlertKind,
  type Exposure,
  exposureOf,
  PROBE_STATES,
  type ProbeResult,
  type ProbeState,
} from "../../shared/exposure/model.ts";
import {
  canonicalTime,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  decideTransition,
  type EndpointState,
  eventIdFor,
} from "../../shared/exposure/transitions.ts";
import { CVE_CRITICAL, CVE_MEDIUM, minutes, observation, ROGUE_MASTER, T0 } from "../helpers/observations.ts";

/** The recorded state of an endpoint that has been observed once in `state` (confirmed, nothing pending). */
function recordedIn(state: ProbeState, at = minutes(0)): EndpointState {
  const decision = decideTransition(null, observation(state, at));
  expect(decision.next).not.toBeNull();
  return decision.next!;
}

// The alert rules written as a table on exposure levels (docs/architecture.md), independent of the code under test.
// Rows: previous exposure ("new" = never seen); columns: observed exposure.
const EXPECTED_ALERTS: Record<Exposure | "new", Record<Exposure, AlertKind[]>> = {
  new: { none: [], reachable: ["newly-internet-facing"], unauthenticated: ["newly-unauthenticated"] },
  none: { none: [], reachable: ["newly-internet-facing"], unauthenticated: ["newly-unauthenticated"] },
  reachable: { none: ["resolved"], reachable: [], unauthenticated: ["newly-unauthenticated"] },
  unauthenticated: { none: ["resolved"], reachable: [], unauthenticated: [] },
};

describe("first sighting", () => {
  for (const state of PROBE_STATES) {
    it(`${state}`, () => {
      const decision = decideTransition(null, observation(state, minutes(0)), { scanId: "scan-1" });
      const exposure = exposureOf(state);
      expect(decision.next).toMatchObject({
        endpoint: "203.0.113.10:6379",
        state,
        exposure,
        since: minutes(0),
        firstSeenAt: minutes(0),
        lastObservedAt: minutes(0),
        pendingNone: 0,
        lastScanId: "scan-1",
        version: 1,
      });
      if (exposure === "none") {
        // A first sighting at none records the endpoint but makes no history.
        expect(decision.outcome).toBe("first-seen");
        expect(decision.event).toBeNull();
        expect(decision.next!.lastEventId).toBeNull();
      } else {
        expect(decision.outcome).toBe("changed");
        expect(decision.event).toMatchObject({
          endpoint: "203.0.113.10:6379",
          at: minutes(0),
          previous: null,
          current: { state, exposure },
          alerts: EXPECTED_ALERTS.new[exposure],
          firstSeenAt: minutes(0),
          scanId: "scan-1",
        });
        expect(decision.next!.lastEventId).toBe(decision.event!.eventId);
      }
    });
  }
});

describe("every pair of states (recorded -> observed)", () => {
  for (const from of PROBE_STATES) {
    for (const to of PROBE_STATES) {
      it(`${from} -> ${to}`, () => {
        const recorded = recordedIn(from);
        const fromExposure = exposureOf(from);
        const toExposure = exposureOf(to);
        const decision = decideTransition(recorded, observation(to, minutes(15)));

        if (from === to) {
          expect(decision).toEqual({ outcome: "unchanged", next: null, event: null });
          return;
        }
        if (fromExposure !== "none" && toExposure === "none") {
          // First observation at none: counted, not yet an event; the recorded state stays exposed.
          expect(decision.outcome).toBe("pending");
          expect(decision.event).toBeNull();
          expect(decision.next).toMatchObject({ state: from, pendingNone: 1, lastObservedAt: minutes(15) });
          expect(decision.next!.version).toBe(recorded.version + 1);

          const confirmed = decideTransition(decision.next, observation(to, minutes(30)));
          expect(confirmed.outcome).toBe("changed");
          expect(confirmed.event).toMatchObject({
            at: minutes(30),
            previous: { state: from, exposure: fromExposure },
            current: { state: to, exposure: "none" },
            alerts: ["resolved"],
            firstSeenAt: minutes(0),
          });
          expect(confirmed.next).toMatchObject({ state: to, exposure: "none", pendingNone: 0, since: minutes(30) });
          return;
        }
        expect(decision.outcome).toBe("changed");
        expect(decision.event).toMatchObject({
          at: minutes(15),
          previous: { state: from, exposure: fromExposure },
          current: { state: to, exposure: toExposure },
          alerts: EXPECTED_ALERTS[fromExposure][toExposure],
          firstSeenAt: minutes(0),
        });
        expect(decision.next).toMatchObject({
          state: to,
          exposure: toExposure,
          since: minutes(15),
          firstSeenAt: minutes(0),
          lastObservedAt: minutes(15),
          pendingNone: 0,
          lastEventId: decision.event!.eventId,
          version: recorded.version + 1,
        });
      });
    }
  }
});

describe("resolved needs two consecutive observations at none", () => {
  it("open -> closed -> closed resolves once, a third closed is unchanged", () => {
    const open = recordedIn("open-unauthenticated");
    const first = decideTransition(open, observation("closed", minutes(15)));
    expect(first.outcome).toBe("pending");
    const second = decideTransition(first.next, observation("filtered", minutes(30)));
    expect(second.event?.alerts).toEqual(["resolved"]);
    expect(second.event?.previous).toEqual({ state: "open-unauthenticated", exposure: "unauthenticated" });
    const third = decideTransition(second.next, observation("filtered", minutes(45)));
    expect(third.outcome).toBe("unchanged");
  });

  it("flapping: none once, then the same exposed state again -> no event, counter reset", () => {
    const open = recordedIn("auth-required");
    const gone = decideTransition(open, observation("filtered", minutes(15)));
    const back = decideTransition(gone.next, observation("auth-required", minutes(30)));
    expect(back.outcome).toBe("pending");
    expect(back.event).toBeNull();
    expect(back.next).toMatchObject({ state: "auth-required", pendingNone: 0, since: minutes(0) });
    // The counter really restarted: one more none is pending again, not resolved.
    const goneAgain = decideTransition(back.next, observation("closed", minutes(45)));
    expect(goneAgain.outcome).toBe("pending");
    expect(goneAgain.event).toBeNull();
  });

  it("flapping to a different exposed state is an ordinary change without resolved or internet-facing", () => {
    const open = recordedIn("auth-required");
    const gone = decideTransition(open, observation("closed", minutes(15)));
    const back = decideTransition(gone.next, observation("busy", minutes(30)));
    expect(back.outcome).toBe("changed");
    expect(back.event).toMatchObject({ previous: { state: "auth-required" }, current: { state: "busy" }, alerts: [] });
    const unauth = decideTransition(gone.next, observation("open-unauthenticated", minutes(30)));
    expect(unauth.event?.alerts).toEqual(["newly-unauthenticated"]);
  });

  it("the confirming observation must come from another scan when scans are named", () => {
    const open = recordedIn("open-unauthenticated");
    const first = decideTransition(open, observation("closed", minutes(15)), { scanId: "scan-2" });
    expect(first.outcome).toBe("pending");
    // A retry of the probe within scan-2 confirms nothing and writes nothing.
    const retry = decideTransition(first.next, observation("closed", minutes(16)), { scanId: "scan-2" });
    expect(retry).toEqual({ outcome: "unchanged", next: null, event: null });
    const nextScan = decideTransition(first.next, observation("closed", minutes(30)), { scanId: "scan-3" });
    expect(nextScan.event?.alerts).toEqual(["resolved"]);
  });

  it("a duplicate of the first none does not count as the second", () => {
    const open = recordedIn("open-unauthenticated");
    const first = decideTransition(open, observation("closed", minutes(15)));
    const again = decideTransition(first.next, observation("closed", minutes(15)));
    expect(again.outcome).toBe("duplicate");
    expect(again.next).toBeNull();
  });
});

describe("findings", () => {
  it("a critical CVE or compromise indicator appearing alerts new-finding; a medium CVE is history only", () => {
    const open = recordedIn("open-unauthenticated");
    const cve = decideTransition(open, observation("open-unauthenticated", minutes(15), { findings: [CVE_CRITICAL] }));
    expect(cve.event).toMatchObject({ alerts: ["new-finding"], newFindings: [CVE_CRITICAL] });

    const ioc = decideTransition(
      cve.next,
      observation("open-unauthenticated", minutes(30), { findings: [CVE_CRITICAL, ROGUE_MASTER] }),
    );
    expect(ioc.event).toMatchObject({ alerts: ["new-finding"], newFindings: [ROGUE_MASTER] });
    expect(ioc.event!.findings).toEqual([CVE_CRITICAL, ROGUE_MASTER]);

    const medium = decideTransition(open, observation("open-unauthenticated", minutes(15), { findings: [CVE_MEDIUM] }));
    expect(medium.outcome).toBe("changed");
    expect(medium.event).toMatchObject({ alerts: [], newFindings: [CVE_MEDIUM] });
  });

  it("a finding that disappears is an event without alerts; reappearing alerts again", () => {
    const withCve = decideTransition(
      null,
      observation("open-unauthenticated", minutes(0), { findings: [CVE_CRITICAL] }),
    ).next!;
    const fixed = decideTransition(withCve, observation("open-unauthenticated", minutes(15)));
    expect(fixed.event).toMatchObject({ alerts: [], newFindings: [], findings: [] });
    const back = decideTransition(
      fixed.next,
      observation("open-unauthenticated", minutes(30), { findings: [CVE_CRITICAL] }),
    );
    expect(back.event?.alerts).toEqual(["new-finding"]);
  });

  it("the same findings in another order are not a change", () => {
    const both = decideTransition(
      null,
      observation("open-unauthenticated", minutes(0), { findings: [CVE_CRITICAL, ROGUE_MASTER] }),
    ).next!;
    const reordered = decideTransition(
      both,
      observation("open-unauthenticated", minutes(15), { findings: [ROGUE_MASTER, CVE_CRITICAL] }),
    );
    expect(reordered.outcome).toBe("unchanged");
  });

  it("first sighting with a critical CVE raises both the exposure alert and new-finding", () => {
    const first = decideTransition(null, observation("open-unauthenticated", minutes(0), { findings: [CVE_CRITICAL] }));
    expect(first.event?.alerts).toEqual(["newly-unauthenticated", "new-finding"]);
    const reachable = decideTransition(null, observation("auth-required", minutes(0), { findings: [ROGUE_MASTER] }));
    expect(reachable.event?.alerts).toEqual(["newly-internet-facing", "new-finding"]);
  });
});

describe("other changes, ordering and checkpoints", () => {
  it("a TLS or server version change is history without alerts", () => {
    const open = recordedIn("open-unauthenticated");
    const tls = decideTransition(open, observation("open-unauthenticated", minutes(15), { tls: true }));
    expect(tls.event).toMatchObject({ alerts: [], current: { tls: true } });
    const upgraded = decideTransition(
      open,
      observation("open-unauthenticated", minutes(15), {
        protocol: { name: "redis", product: "redis", version: "8.2.2", mode: "standalone", role: "master" },
      }),
    );
    expect(upgraded.event).toMatchObject({ alerts: [], current: { protocol: { version: "8.2.2" } } });
  });

  it("older observations are stale, equal ones duplicates, and neither writes", () => {
    const open = recordedIn("auth-required", minutes(30));
    expect(decideTransition(open, observation("open-unauthenticated", minutes(15)))).toEqual({
      outcome: "stale",
      next: null,
      event: null,
    });
    expect(decideTransition(open, observation("open-unauthenticated", minutes(30))).outcome).toBe("duplicate");
    // Different spellings of the same instant are the same observation.
    expect(decideTransition(open, observation("closed", "2026-03-01T10:30:00Z")).outcome).toBe("duplicate");
  });

  it("unchanged observations write a checkpoint once the interval has passed", () => {
    const open = recordedIn("auth-required");
    const hourMs = 3_600_000;
    expect(
      decideTransition(open, observation("auth-required", minutes(60)), { checkpointIntervalMs: 2 * hourMs }).outcome,
    ).toBe("unchanged");
    const checkpoint = decideTransition(open, observation("auth-required", minutes(120)), {
      checkpointIntervalMs: 2 * hourMs,
      scanId: "scan-9",
    });
    expect(checkpoint.outcome).toBe("checkpoint");
    expect(checkpoint.event).toBeNull();
    expect(checkpoint.next).toMatchObject({
      state: "auth-required",
      since: minutes(0),
      lastObservedAt: minutes(120),
      lastScanId: "scan-9",
      version: open.version + 1,
    });
    // Default interval is a day.
    const day = new Date(T0 + DEFAULT_CHECKPOINT_INTERVAL_MS).toISOString();
    expect(decideTransition(open, observation("auth-required", minutes(23 * 60))).outcome).toBe("unchanged");
    expect(decideTransition(open, observation("auth-required", day)).outcome).toBe("checkpoint");
  });

  it("keeps the owner when a later observation carries none, and takes a new one when given", () => {
    const asset = {
      provider: "aws" as const,
      accountId: "111122223333",
      region: "eu-west-1",
      resourceType: "ec2-instance",
      resourceId: "i-0abc",
    };
    const first = decideTransition(null, observation("auth-required", minutes(0), { asset })).next!;
    const change = decideTransition(first, observation("open-unauthenticated", minutes(15)));
    expect(change.event?.asset).toEqual(asset);
    expect(change.next?.asset).toEqual(asset);
    // The same owner again (or none) is no reason to write; a new owner is written at once, without an event.
    expect(decideTransition(change.next, observation("open-unauthenticated", minutes(30), { asset })).outcome).toBe(
      "unchanged",
    );
    const moved = { ...asset, resourceId: "i-0def" };
    const handover = decideTransition(change.next, observation("open-unauthenticated", minutes(30), { asset: moved }));
    expect(handover).toMatchObject({ outcome: "checkpoint", event: null, next: { asset: moved, since: minutes(15) } });
  });

  it("event ids are deterministic per endpoint and instant", () => {
    const a = decideTransition(null, observation("busy", "2026-03-01T10:00:00Z")).event!;
    const b = decideTransition(null, observation("busy", "2026-03-01T10:00:00.000Z")).event!;
    expect(a.eventId).toBe(b.eventId);
    expect(a.eventId).toBe(eventIdFor("203.0.113.10:6379", canonicalTime("2026-03-01T10:00:00Z")));
    expect(eventIdFor("203.0.113.10:6380", a.at)).not.toBe(a.eventId);
  });

  it("rejects an unparseable observedAt", () => {
    expect(() => decideTransition(null, observation("busy", "yesterday"))).toThrow(/invalid observedAt/);
  });
});

describe("properties", () => {
  const stateArb = fc.constantFrom(...PROBE_STATES);

  function replay(observations: ProbeResult[]) {
    let recorded: EndpointState | null = null;
    const events = [];
    for (const obs of observations) {
      const decision = decideTransition(recorded, obs);
      if (decision.next) recorded = decision.next;
      if (decision.event) events.push(decision.event);
    }
    return events;
  }

  it("redelivering and reordering older observations never changes the events", () => {
    fc.assert(
      fc.property(
        fc.array(stateArb, { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (states, replays) => {
          const inOrder = states.map((state, i) => observation(state, minutes(i * 15)));
          const expected = replay(inOrder);
          // After the i-th observation, redeliver some earlier one (a duplicate or an out-of-order straggler).
          const noisy: ProbeResult[] = [];
          inOrder.forEach((obs, i) => {
            noisy.push(obs);
            const pick = replays[i];
            if (pick !== undefined) noisy.push(inOrder[pick % (i + 1)]!);
          });
          expect(replay(noisy)).toEqual(expected);
        },
      ),
    );
  });

  it("one notification per event, of its most severe rule with every finding inside, delivered once each in event order", async () => {
    const findingsArb = fc.constantFrom([], [CVE_CRITICAL], [ROGUE_MASTER], [CVE_MEDIUM], [CVE_CRITICAL, ROGUE_MASTER]);
    const rank = { critical: 4, high: 3, medium: 2, low: 1, info: 0 } as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(stateArb, findingsArb), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 3 }),
        async (steps, redeliveries) => {
          const events = replay(
            steps.map(([state, findings], i) =>
              observation(state, minutes(i * 15), exposureOf(state) === "none" ? {} : { findings: [...findings] }),
            ),
          );
          const expected = [];
          for (const event of events) {
            const rules = alertsFromEvent(event);
            const notification = notificationFor(event);
            if (rules.length === 0) {
              expect(notification).toBeNull();
              continue;
            }
            expect(notification).not.toBeNull();
            expect(event.alerts).toContain(notification!.kind);
            expect(notification!.id).toBe(alertId(event.eventId, notification!.kind));
            expect(rank[notification!.severity]).toBe(Math.max(...rules.map((rule) => rank[rule.severity])));
            // new-finding stands alone only without an exposure change, unless it outranks it.
            const exposureRule = rules.find((rule) => rule.kind !== "new-finding");
            if (notification!.kind === "new-finding" && exposureRule) {
              expect(rank[notification!.severity]).toBeGreaterThan(rank[exposureRule.severity]);
            }
            if (exposureRule) expect(notification!.findings).toEqual(event.findings);
            expected.push(notification!.id);
          }
          // The same batch handed over several times (stream retries): each notification once, in event order.
          const sent: string[] = [];
          const channel: AlertDeliverer = { name: "channel", deliver: async (alert) => void sent.push(alert.id) };
          const marks = new Set<string>();
          const ledger = {
            has: async (key: string) => marks.has(key),
            mark: async (key: string) => void marks.add(key),
          };
          for (let i = 0; i < redeliveries; i++) await deliverEventAlerts(events, [channel], ledger);
          expect(sent).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a first sighting of an old open Redis makes one critical notification with its findings inside", () => {
    const [event] = replay([
      observation("open-unauthenticated", minutes(0), { findings: [CVE_CRITICAL, ROGUE_MASTER] }),
    ]);
    expect(event!.alerts).toEqual(["newly-unauthenticated", "new-finding"]);
    const notification = notificationFor(event!);
    expect(notification).toMatchObject({ kind: "newly-unauthenticated", severity: "critical" });
    expect(notification!.findings.map((finding) => finding.id)).toEqual([CVE_CRITICAL.id, ROGUE_MASTER.id]);
  });

  it("alerts alternate sensibly: no resolved without a preceding exposure, never two resolved in a row", () => {
    fc.assert(
      fc.property(fc.array(stateArb, { minLength: 1, maxLength: 40 }), (states) => {
        const events = replay(states.map((state, i) => observation(state, minutes(i * 15))));
        let exposed = false;
        for (const event of events) {
          if (event.alerts.includes("resolved")) {
            expect(exposed).toBe(true);
            exposed = false;
          }
          if (event.alerts.includes("newly-internet-facing")) expect(event.previous?.exposure ?? "none").toBe("none");
          if (event.current.exposure !== "none") exposed = true;
        }
      }),
    );
  });
});
