// Seeds a store with the known history of test/unit/report-fixture.ts through the store's own write
// path (recordObservation: the transition rules decide the events, two `none` observations resolve),
// and the scans through startScan/recordShard with the store's clock set to each completion time.
import type { Asset, Finding, ProbeResult, ProbeState } from "../../shared/exposure/model.ts";
import { exposureOf } from "../../shared/exposure/model.ts";
import type { ExposureStore } from "../../shared/store/store.ts";
import {
  CVE,
  OWNER_A,
  OWNER_B,
  OWNER_C,
  OWNER_G,
  ROGUE,
  SCAN_BEFORE,
  SCANS_IN_PERIOD,
} from "../unit/report-fixture.ts";

const OWNER_F: Asset = { ...OWNER_A, resourceId: "i-0fff", name: "old" };

type Step = [at: string, state: ProbeState, findings?: Finding[]];

const HISTORY: Array<{ endpoint: string; asset: Asset | null; steps: Step[] }> = [
  {
    endpoint: "203.0.113.40:6379",
    asset: OWNER_F,
    steps: [
      ["2026-02-20T00:00Z", "open-unauthenticated"],
      ["2026-02-20T23:45Z", "closed"],
      ["2026-02-21T00:00Z", "closed"],
    ],
  },
  { endpoint: "203.0.113.50:6379", asset: OWNER_G, steps: [["2026-02-25T00:00Z", "auth-required"]] },
  {
    endpoint: "203.0.113.60:6379",
    asset: null,
    steps: [
      ["2026-02-26T00:00Z", "open-unauthenticated"],
      ["2026-03-02T02:45Z", "closed"],
      ["2026-03-02T03:00Z", "closed"],
    ],
  },
  {
    endpoint: "203.0.113.30:6380",
    asset: null,
    steps: [
      ["2026-02-27T00:00Z", "auth-required"],
      ["2026-03-01T12:00Z", "busy"],
      ["2026-03-02T00:45Z", "closed"],
      ["2026-03-02T01:00Z", "closed"],
    ],
  },
  {
    endpoint: "203.0.113.10:6379",
    asset: OWNER_A,
    steps: [
      ["2026-02-28T20:00Z", "auth-required"],
      ["2026-02-28T22:00Z", "open-unauthenticated"],
      ["2026-03-01T01:45Z", "closed"],
      ["2026-03-01T02:00Z", "closed"],
    ],
  },
  {
    endpoint: "203.0.113.20:6379",
    asset: OWNER_B,
    steps: [
      ["2026-03-01T05:00Z", "auth-required"],
      ["2026-03-01T05:45Z", "filtered"],
      ["2026-03-01T06:00Z", "filtered"],
      ["2026-03-01T10:00Z", "open-unauthenticated"],
      ["2026-03-01T13:45Z", "closed"],
      ["2026-03-01T14:00Z", "closed"],
    ],
  },
  {
    endpoint: "198.51.100.7:6379",
    asset: OWNER_C,
    steps: [
      ["2026-03-01T20:00Z", "open-unauthenticated", [CVE]],
      ["2026-03-01T22:00Z", "open-unauthenticated", [CVE, ROGUE]],
    ],
  },
];

function probeResult(endpoint: string, asset: Asset | null, [at, state, findings = []]: Step): ProbeResult {
  const [, ip, port] = /^(.+):(\d+)$/.exec(endpoint)!;
  const exposure = exposureOf(state);
  return {
    target: endpoint,
    ip: ip!,
    port: Number(port),
    state,
    exposure,
    tls: false,
    protocol:
      exposure === "none"
        ? { name: "redis" }
        : { name: "redis", product: "redis", version: "7.2.4", mode: "standalone", role: "master" },
    findings,
    reply: "",
    durationMs: 2,
    observedAt: new Date(at).toISOString(),
    ...(asset ? { asset } : {}),
  };
}

/** `setClock` moves the store's clock (DynamoStoreOptions.now), which stamps scan completions. */
export async function seedFixtureHistory(store: ExposureStore, setClock: (iso: string) => void): Promise<void> {
  for (const { endpoint, asset, steps } of HISTORY) {
    for (const step of steps) await store.recordObservation(probeResult(endpoint, asset, step));
  }
  for (const scan of [SCAN_BEFORE, ...SCANS_IN_PERIOD]) {
    await store.startScan({
      scanId: scan.scanId,
      startedAt: scan.startedAt,
      targets: scan.targets,
      shards: scan.shards,
      accountsRead: scan.accountsRead,
      regionsRead: scan.regionsRead,
      gaps: scan.gaps,
    });
    setClock(scan.completedAt ?? scan.startedAt);
    for (let shard = 0; shard < scan.shardsDone; shard++) {
      await store.recordShard({ scanId: scan.scanId, shardId: `shard-${shard}`, countsByState: { closed: 1 } });
    }
  }
}
