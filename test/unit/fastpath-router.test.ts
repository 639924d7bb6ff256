// The router's decisions with a stand-in resolver (resolution itself is tested over HTTP): the re-probe
// schedule, coalescing within and across batches, replayed events, tombstones, and unreadable accounts.
import { describe, expect, it } from "vitest";
import type { Change } from "../../shared/fastpath/catalog.ts";
import { MemoryFastPathLedger } from "../../shared/fastpath/ledger.ts";
import type { Resolution } from "../../shared/fastpath/resolve.ts";
import { FamilyProbeScheduler, type ProbeScheduler, routeEvents } from "../../shared/fastpath/router.ts";
import {
  eventTimeOfProbeId,
  fastProbeId,
  type PlannedProbe,
  REPROBE_DELAYS_SECONDS,
  TARGETS_PER_MESSAGE,
} from "../../shared/fastpath/schedule.ts";
import { CATALOG_CASES, cloudTrailEvent, STOP_EVENTS } from "../fixtures/aws/cloudtrail-events.ts";

const SG = CATALOG_CASES.AuthorizeSecurityGroupIngress!.event;
const START = CATALOG_CASES["EC2 Instance State-change Notification"]!.event;

function harness(resolutions: (change: Change) => Resolution) {
  let clock = Date.parse("2026-11-25T10:00:05Z");
  const ledger = new MemoryFastPathLedger(() => clock);
  const scheduled: PlannedProbe[] = [];
  const scheduler: ProbeScheduler = {
    async schedule(probes) {
      scheduled.push(...probes);
    },
  };
  const resolved: string[] = [];
  const resolver = {
    async resolve(change: Change) {
      resolved.push(change.eventId);
      return resolutions(change);
    },
  };
  return {
    ledger,
    scheduled,
    resolved,
    advance: (ms: number) => {
      clock += ms;
    },
    route: (events: Parameters<typeof routeEvents>[0]) =>
      routeEvents(events, { resolver, ledger, scheduler, now: () => new Date(clock) }),
  };
}

const targets = (...hosts: string[]): Resolution => ({
  targets: hosts.map((host) => ({ host, port: 6379 })),
  stopKeys: Object.fromEntries(hosts.map((host) => [host, [`ip:${host}`]])),
  gaps: [],
  detailErrors: [],
});

describe("fast-path router", () => {
  it("schedules each target at +0, +30 s, +2 min and +10 min after a change, denser after an instance start", async () => {
    const h = harness(() => targets("35.171.0.10"));
    await h.route([SG]);
    expect(h.scheduled.map((p) => p.delaySeconds)).toEqual([0, 30, 120, 600]);
    const ids = h.scheduled.map((p) => p.message.probeId);
    expect(new Set(ids).size).toBe(4);
    expect(ids.every((id) => eventTimeOfProbeId(id) === Date.parse("2026-11-25T10:00:00Z"))).toBe(true);
    const s = harness(() => targets("35.171.0.10"));
    await s.route([START]);
    expect(s.scheduled.map((p) => p.delaySeconds)).toEqual([...REPROBE_DELAYS_SECONDS.start]);
    expect(REPROBE_DELAYS_SECONDS.start).toEqual([0, 30, 60, 90, 120, 150, 180, 300, 600]);
  });

  it("a replayed event (same id) schedules nothing and resolves nothing", async () => {
    const h = harness(() => targets("35.171.0.10"));
    await h.route([SG]);
    h.advance(5 * 60_000);
    const again = await h.route([SG]);
    expect(again.duplicates).toEqual([SG.id]);
    expect(h.resolved).toEqual([SG.id]);
    expect(h.scheduled).toHaveLength(4);
  });

  it("coalesces one endpoint's schedules within a batch and across batches for a minute, then schedules again", async () => {
    const h = harness(() => targets("35.171.0.10", "35.171.0.11"));
    const burst = [1, 2, 3].map((n) =>
      cloudTrailEvent(
        "aws.ec2",
        "AuthorizeSecurityGroupIngress",
        { groupId: "sg-0redis000000001" },
        {},
        { id: `burst-${n}` },
      ),
    );
    const first = await h.route(burst);
    expect(first.routed.map((r) => r.scheduledTargets)).toEqual([2, 0, 0]);
    h.advance(30_000);
    const second = await h.route([
      cloudTrailEvent("aws.ec2", "AuthorizeSecurityGroupIngress", { groupId: "sg-1" }, {}, { id: "later" }),
    ]);
    expect(second.routed[0]!.scheduledTargets).toBe(0);
    expect(second.routed[0]!.targets).toHaveLength(2);
    h.advance(31_000);
    const third = await h.route([
      cloudTrailEvent("aws.ec2", "AuthorizeSecurityGroupIngress", { groupId: "sg-1" }, {}, { id: "much-later" }),
    ]);
    expect(third.routed[0]!.scheduledTargets).toBe(2);
    // Two schedules of four probes, each probe carrying both targets.
    expect(h.scheduled).toHaveLength(8);
  });

  it("splits a large resolution into messages of at most TARGETS_PER_MESSAGE targets", async () => {
    const hosts = Array.from({ length: 250 }, (_, i) => `35.171.${Math.floor(i / 250)}.${i + 1}`);
    const h = harness(() => targets(...hosts));
    await h.route([SG]);
    expect(h.scheduled.every((p) => p.message.targets.length <= TARGETS_PER_MESSAGE)).toBe(true);
    expect(h.scheduled).toHaveLength(3 * 4);
    expect(new Set(h.scheduled.flatMap((p) => p.message.targets.map((t) => t.host))).size).toBe(250);
  });

  it("DisassociateAddress / ReleaseAddress write tombstones that stop probes scheduled before them, not after", async () => {
    const h = harness(() => targets("35.171.0.11"));
    await h.route([CATALOG_CASES.AssociateAddress!.event]);
    const before = new Date(h.scheduled[0]!.message.scheduledAt);
    h.advance(1_000);
    await h.route([STOP_EVENTS.ReleaseAddressByIp]);
    expect(await h.ledger.stoppedSince(["ip:35.171.0.11"], before)).toBe(true);
    h.advance(1_000);
    expect(await h.ledger.stoppedSince(["ip:35.171.0.11"], new Date(before.getTime() + 2_000))).toBe(false);
    expect(h.resolved).toEqual([CATALOG_CASES.AssociateAddress!.event.id]);
  });

  it("reports an account it cannot read with the gap, and schedules nothing for it", async () => {
    const h = harness((change) => ({
      targets: [],
      stopKeys: {},
      gaps: [{ accountId: change.accountId, source: "sts:AssumeRole", error: "AccessDenied: not authorized" }],
      detailErrors: [],
    }));
    const outcome = await h.route([SG]);
    expect(outcome.routed[0]!.gaps).toEqual([
      { accountId: "222222222222", source: "sts:AssumeRole", error: "AccessDenied: not authorized" },
    ]);
    expect(h.scheduled).toEqual([]);
  });

  it("gives an event's claim back when scheduling fails, so the retried message routes it", async () => {
    const h = harness(() => targets("35.171.0.10"));
    let fail = true;
    const ledger = h.ledger;
    const scheduler: ProbeScheduler = {
      async schedule() {
        if (fail) throw new Error("SQS unavailable");
      },
    };
    const resolver = { resolve: async () => targets("35.171.0.10") };
    await expect(routeEvents([SG], { resolver, ledger, scheduler })).rejects.toThrow("SQS unavailable");
    fail = false;
    await ledger.release("endpoint:35.171.0.10:6379");
    const retried = await routeEvents([SG], { resolver, ledger, scheduler });
    expect(retried.duplicates).toEqual([]);
    expect(retried.routed).toHaveLength(1);
  });

  it("probe ids carry the event time; scan ids and junk carry none", () => {
    expect(eventTimeOfProbeId(fastProbeId("e", "2026-11-25T10:00:00Z", 3))).toBe(Date.parse("2026-11-25T10:00:00Z"));
    expect(eventTimeOfProbeId("scan-20261125T100000Z-abcdef")).toBeNull();
    expect(eventTimeOfProbeId(undefined)).toBeNull();
  });
});

describe("probes by address family", () => {
  const recording = () => {
    const sent: PlannedProbe[] = [];
    return { sent, scheduler: { schedule: async (probes) => void sent.push(...probes) } as ProbeScheduler };
  };
  const probe = (hosts: string[]): PlannedProbe => ({
    delaySeconds: 30,
    message: {
      probeId: fastProbeId("event-1", "2026-11-25T10:00:00Z", 2),
      eventId: "event-1",
      eventName: "AuthorizeSecurityGroupIngress",
      eventTime: "2026-11-25T10:00:00Z",
      scheduledAt: "2026-11-25T10:00:05Z",
      targets: hosts.map((host) => ({ host, port: 6379 })),
      stopKeys: Object.fromEntries(hosts.map((host) => [host, [`ip:${host}`, "eni:eni-1"]])),
    },
  });

  it("sends the IPv6 targets of a probe to the IPv6 scheduler, the rest to the first, each half with its stop keys", async () => {
    const ipv4 = recording();
    const ipv6 = recording();
    const mixed = probe(["35.171.0.10", "2600:1f18::10", "35.171.0.11"]);
    await new FamilyProbeScheduler(ipv4.scheduler, ipv6.scheduler).schedule([
      mixed,
      probe(["35.171.0.12"]),
      probe(["2600:1f18::11"]),
    ]);
    expect(ipv4.sent.map((p) => p.message.targets.map((t) => t.host))).toEqual([
      ["35.171.0.10", "35.171.0.11"],
      ["35.171.0.12"],
    ]);
    expect(ipv6.sent.map((p) => p.message.targets.map((t) => t.host))).toEqual([["2600:1f18::10"], ["2600:1f18::11"]]);
    expect(Object.keys(ipv4.sent[0]!.message.stopKeys)).toEqual(["35.171.0.10", "35.171.0.11"]);
    expect(ipv6.sent[0]!.message.stopKeys).toEqual({ "2600:1f18::10": ["ip:2600:1f18::10", "eni:eni-1"] });
    // Both halves keep the probe's id, delay and event.
    for (const half of [ipv4.sent[0]!, ipv6.sent[0]!]) {
      expect(half.delaySeconds).toBe(30);
      expect(half.message.probeId).toBe(mixed.message.probeId);
      expect(half.message.eventId).toBe("event-1");
    }
  });

  it("without an IPv6 scheduler, sends everything to the first", async () => {
    const only = recording();
    const probes = [probe(["35.171.0.10", "2600:1f18::10"])];
    await new FamilyProbeScheduler(only.scheduler).schedule(probes);
    expect(only.sent).toEqual(probes);
  });
});
