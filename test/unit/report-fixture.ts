// A known history whose correct report is computed by hand below (unit tests use it directly,
// integration tests seed DynamoDB Local with it and must get the same report back).
//
// Period [2026-03-01T00:00Z, 2026-03-02T00:00Z), schedule interval 1h.
//   D 203.0.113.30:6380  no owner     reachable since 02-27 00:00 (auth-required, busy at 12:00); open at the end
//                                     (an event after `to` closes it: ignored)            -> straddles both edges
//   A 203.0.113.10:6379  111.. i-aaa  reachable 02-28 20:00, unauthenticated 22:00, resolved 03-01 02:00
//   B 203.0.113.20:6379  222.. eni-b  reachable 05:00-06:00, unauthenticated 10:00-14:00   -> two windows
//   C 198.51.100.7:6379  222.. i-ccc  unauthenticated with a critical CVE from 20:00, rogue master from 22:00; open
//   F 203.0.113.40:6379  111.. i-fff  exposed and resolved in February: no window in the period
//   G 203.0.113.50:6379  111.. i-ggg  reachable since 02-25, no event since: still exposed now
//   H 203.0.113.60:6379  no owner     unauthenticated since 02-26, no event in the period, closed 03-02 03:00
// Scans: hourly at HH:00, done at HH:10; none at 08, 09, 10; the 15:00 scan never completed; the 12:00
// scan could not read account 333333333333. One scan completed at 02-28 23:30, before the period.

import {
  type AlertKind,
  type Asset,
  exposureOf,
  type Finding,
  type ProbeState,
  type ScanRecord,
  type StateChangeEvent,
} from "../../shared/exposure/model.ts";
import { eventIdFor } from "../../shared/exposure/transitions.ts";
import type { ReportInput } from "../../shared/report/types.ts";

export const PERIOD = { from: "2026-03-01T00:00:00.000Z", to: "2026-03-02T00:00:00.000Z" };
export const HOUR = 3_600_000;
export const GENERATED_AT = "2026-03-02T06:00:00.000Z";

export const OWNER_A: Asset = {
  provider: "aws",
  accountId: "111111111111",
  region: "eu-west-1",
  resourceType: "ec2-instance",
  resourceId: "i-0aaa",
  name: "cache-a",
};
export const OWNER_B: Asset = {
  provider: "aws",
  accountId: "222222222222",
  region: "us-east-1",
  resourceType: "network-interface",
  resourceId: "eni-0bbb",
};
export const OWNER_C: Asset = {
  provider: "aws",
  accountId: "222222222222",
  region: "us-east-1",
  resourceType: "ec2-instance",
  resourceId: "i-0ccc",
  name: 'legacy, "worker"',
};
const OWNER_F: Asset = { ...OWNER_A, resourceId: "i-0fff", name: "old" };

export const CVE: Finding = {
  id: "CVE-2025-49844",
  kind: "cve",
  severity: "critical",
  title: "Lua use-after-free allows remote code execution (RediShell)",
  evidence: "redis_version:7.2.4",
  fixedIn: "7.2.11",
};
export const ROGUE: Finding = {
  id: "ioc:rogue-master",
  kind: "compromise",
  severity: "critical",
  title: "Replicates from a master outside the organization",
  evidence: "master_host:198.51.100.99",
};

interface EventSpec {
  endpoint: string;
  at: string;
  state: ProbeState;
  previous: ProbeState | null;
  alerts?: AlertKind[];
  asset?: Asset | null;
  findings?: Finding[];
  newFindings?: Finding[];
  firstSeenAt?: string;
}

export function event(spec: EventSpec): StateChangeEvent {
  const [, ip, port] = /^\[?(.+?)\]?:(\d+)$/.exec(spec.endpoint)!;
  const at = new Date(spec.at).toISOString();
  const exposure = exposureOf(spec.state);
  return {
    eventId: eventIdFor(spec.endpoint, at),
    endpoint: spec.endpoint,
    ip: ip!,
    port: Number(port),
    at,
    previous: spec.previous ? { state: spec.previous, exposure: exposureOf(spec.previous) } : null,
    current: {
      state: spec.state,
      exposure,
      tls: false,
      protocol:
        exposure === "none"
          ? { name: "redis" }
          : { name: "redis", product: "redis", version: "7.2.4", mode: "standalone", role: "master" },
    },
    findings: spec.findings ?? [],
    newFindings: spec.newFindings ?? [],
    alerts: spec.alerts ?? [],
    asset: spec.asset ?? null,
    firstSeenAt: spec.firstSeenAt ?? at,
  };
}

const A = "203.0.113.10:6379";
const B = "203.0.113.20:6379";
const C = "198.51.100.7:6379";
const D = "203.0.113.30:6380";
const F = "203.0.113.40:6379";
const G = "203.0.113.50:6379";
const H = "203.0.113.60:6379";
export const OWNER_G: Asset = { ...OWNER_A, resourceId: "i-0ggg", name: "search" };

/** Events before the period that the loader must also read (state at `from`). */
export const EVENTS_BEFORE: StateChangeEvent[] = [
  event({
    endpoint: F,
    at: "2026-02-20T00:00Z",
    state: "open-unauthenticated",
    previous: null,
    alerts: ["newly-unauthenticated"],
    asset: OWNER_F,
  }),
  event({
    endpoint: F,
    at: "2026-02-21T00:00Z",
    state: "closed",
    previous: "open-unauthenticated",
    alerts: ["resolved"],
    asset: OWNER_F,
    firstSeenAt: "2026-02-20T00:00:00.000Z",
  }),
  event({
    endpoint: G,
    at: "2026-02-25T00:00Z",
    state: "auth-required",
    previous: null,
    alerts: ["newly-internet-facing"],
    asset: OWNER_G,
  }),
  event({
    endpoint: H,
    at: "2026-02-26T00:00Z",
    state: "open-unauthenticated",
    previous: null,
    alerts: ["newly-unauthenticated"],
  }),
  event({
    endpoint: D,
    at: "2026-02-27T00:00Z",
    state: "auth-required",
    previous: null,
    alerts: ["newly-internet-facing"],
  }),
  event({
    endpoint: A,
    at: "2026-02-28T20:00Z",
    state: "auth-required",
    previous: null,
    alerts: ["newly-internet-facing"],
    asset: OWNER_A,
  }),
  event({
    endpoint: A,
    at: "2026-02-28T22:00Z",
    state: "open-unauthenticated",
    previous: "auth-required",
    alerts: ["newly-unauthenticated"],
    asset: OWNER_A,
    firstSeenAt: "2026-02-28T20:00:00.000Z",
  }),
];

export const EVENTS_IN_PERIOD: StateChangeEvent[] = [
  event({
    endpoint: A,
    at: "2026-03-01T02:00Z",
    state: "closed",
    previous: "open-unauthenticated",
    alerts: ["resolved"],
    asset: OWNER_A,
    firstSeenAt: "2026-02-28T20:00:00.000Z",
  }),
  event({
    endpoint: B,
    at: "2026-03-01T05:00Z",
    state: "auth-required",
    previous: null,
    alerts: ["newly-internet-facing"],
    asset: OWNER_B,
  }),
  event({
    endpoint: B,
    at: "2026-03-01T06:00Z",
    state: "filtered",
    previous: "auth-required",
    alerts: ["resolved"],
    asset: OWNER_B,
    firstSeenAt: "2026-03-01T05:00:00.000Z",
  }),
  event({
    endpoint: B,
    at: "2026-03-01T10:00Z",
    state: "open-unauthenticated",
    previous: "filtered",
    alerts: ["newly-unauthenticated"],
    asset: OWNER_B,
    firstSeenAt: "2026-03-01T05:00:00.000Z",
  }),
  event({
    endpoint: B,
    at: "2026-03-01T14:00Z",
    state: "closed",
    previous: "open-unauthenticated",
    alerts: ["resolved"],
    asset: OWNER_B,
    firstSeenAt: "2026-03-01T05:00:00.000Z",
  }),
  event({
    endpoint: D,
    at: "2026-03-01T12:00Z",
    state: "busy",
    previous: "auth-required",
    firstSeenAt: "2026-02-27T00:00:00.000Z",
  }),
  event({
    endpoint: C,
    at: "2026-03-01T20:00Z",
    state: "open-unauthenticated",
    previous: null,
    alerts: ["newly-unauthenticated", "new-finding"],
    asset: OWNER_C,
    findings: [CVE],
    newFindings: [CVE],
  }),
  event({
    endpoint: C,
    at: "2026-03-01T22:00Z",
    state: "open-unauthenticated",
    previous: "open-unauthenticated",
    alerts: ["new-finding"],
    asset: OWNER_C,
    findings: [CVE, ROGUE],
    newFindings: [ROGUE],
    firstSeenAt: "2026-03-01T20:00:00.000Z",
  }),
];

export const EVENTS_AFTER: StateChangeEvent[] = [
  event({
    endpoint: H,
    at: "2026-03-02T03:00Z",
    state: "closed",
    previous: "open-unauthenticated",
    alerts: ["resolved"],
    firstSeenAt: "2026-02-26T00:00:00.000Z",
  }),
  event({
    endpoint: D,
    at: "2026-03-02T01:00Z",
    state: "closed",
    previous: "busy",
    alerts: ["resolved"],
    firstSeenAt: "2026-02-27T00:00:00.000Z",
  }),
];

function scan(hour: number, complete = true, gaps: ScanRecord["gaps"] = []): ScanRecord {
  const start = Date.parse(PERIOD.from) + hour * HOUR;
  return {
    scanId: `scan-${String(hour).padStart(2, "0")}`,
    startedAt: new Date(start).toISOString(),
    completedAt: complete ? new Date(start + 10 * 60_000).toISOString() : null,
    targets: 5,
    shards: 4,
    shardsDone: complete ? 4 : 3,
    countsByState: { closed: 2, "auth-required": 1, "open-unauthenticated": 2 },
    accountsRead: ["222222222222", "111111111111"],
    regionsRead: ["us-east-1", "eu-west-1"],
    gaps,
  };
}

export const SCAN_BEFORE: ScanRecord = {
  ...scan(0),
  scanId: "scan-prev",
  startedAt: "2026-02-28T23:20:00.000Z",
  completedAt: "2026-02-28T23:30:00.000Z",
};
const ACCESS_DENIED = { accountId: "333333333333", source: "organizations", error: "AccessDenied: sts:AssumeRole" };
export const SCANS_IN_PERIOD: ScanRecord[] = [
  0, 1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
].map((hour) => scan(hour, hour !== 15, hour === 12 ? [ACCESS_DENIED] : []));

/** The expected windows, computed by hand from the history above. */
export const EXPECTED_WINDOWS = [
  {
    endpoint: G,
    level: "reachable",
    start: "2026-02-25T00:00:00.000Z",
    end: null,
    startedBeforePeriod: true,
    durationInPeriodMs: 24 * HOUR,
    timeToRemediateMs: null,
    owner: OWNER_G,
    alerts: ["newly-internet-facing"],
    states: ["auth-required"],
  },
  {
    endpoint: H,
    level: "unauthenticated",
    start: "2026-02-26T00:00:00.000Z",
    end: null,
    startedBeforePeriod: true,
    durationInPeriodMs: 24 * HOUR,
    timeToRemediateMs: null,
    owner: null,
    alerts: ["newly-unauthenticated"],
    states: ["open-unauthenticated"],
  },
  {
    endpoint: D,
    level: "reachable",
    start: "2026-02-27T00:00:00.000Z",
    end: null,
    startedBeforePeriod: true,
    durationInPeriodMs: 24 * HOUR,
    timeToRemediateMs: null,
    owner: null,
    alerts: ["newly-internet-facing"],
    states: ["auth-required", "busy"],
  },
  {
    endpoint: A,
    level: "unauthenticated",
    start: "2026-02-28T20:00:00.000Z",
    end: "2026-03-01T02:00:00.000Z",
    startedBeforePeriod: true,
    durationInPeriodMs: 2 * HOUR,
    timeToRemediateMs: 6 * HOUR,
    owner: OWNER_A,
    alerts: ["newly-internet-facing", "newly-unauthenticated", "resolved"],
    states: ["auth-required", "open-unauthenticated"],
  },
  {
    endpoint: B,
    level: "reachable",
    start: "2026-03-01T05:00:00.000Z",
    end: "2026-03-01T06:00:00.000Z",
    startedBeforePeriod: false,
    durationInPeriodMs: 1 * HOUR,
    timeToRemediateMs: 1 * HOUR,
    owner: OWNER_B,
    alerts: ["newly-internet-facing", "resolved"],
    states: ["auth-required"],
  },
  {
    endpoint: B,
    level: "unauthenticated",
    start: "2026-03-01T10:00:00.000Z",
    end: "2026-03-01T14:00:00.000Z",
    startedBeforePeriod: false,
    durationInPeriodMs: 4 * HOUR,
    timeToRemediateMs: 4 * HOUR,
    owner: OWNER_B,
    alerts: ["newly-unauthenticated", "resolved"],
    states: ["open-unauthenticated"],
  },
  {
    endpoint: C,
    level: "unauthenticated",
    start: "2026-03-01T20:00:00.000Z",
    end: null,
    startedBeforePeriod: false,
    durationInPeriodMs: 4 * HOUR,
    timeToRemediateMs: null,
    owner: OWNER_C,
    alerts: ["newly-unauthenticated", "new-finding"],
    states: ["open-unauthenticated"],
  },
];

export function fixtureInput(overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    period: PERIOD,
    scans: [SCAN_BEFORE, ...SCANS_IN_PERIOD],
    events: [...EVENTS_BEFORE, ...EVENTS_IN_PERIOD, ...EVENTS_AFTER],
    scheduleIntervalMs: HOUR,
    generatedAt: GENERATED_AT,
    table: "exposure-monitor-test",
    ...overrides,
  };
}
