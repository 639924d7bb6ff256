// The store contract: one suite that every ExposureStore implementation must pass, run against
// DynamoDB Local (store-dynamodb.test.ts) and the embedded SQLite store (store-sqlite.test.ts), so
// their behaviour cannot diverge.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Acknowledgement, acknowledgementId } from "../../shared/exposure/acknowledgement.ts";
import {
  formatEndpoint,
  PROBE_STATES,
  type ProbeResult,
  type ProbeState,
  type StateChangeEvent,
} from "../../shared/exposure/model.ts";
import { decideTransition, type EndpointState } from "../../shared/exposure/transitions.ts";
import { bucketOf } from "../../shared/store/digest.ts";
import { allItems, type ExposureStore } from "../../shared/store/store.ts";
import { CVE_CRITICAL, CVE_HIGH, minutes, observation, T0 } from "../helpers/observations.ts";

export interface StoreFixture<S extends ExposureStore = ExposureStore> {
  /** A new, empty store. */
  newStore(options?: { now?: () => Date }): Promise<S>;
  /** An endpoint's record exactly as stored (the item, the row), to see that nothing was written. */
  rawRecord(store: S, endpoint: string): Promise<{ version: number; [name: string]: unknown } | undefined>;
}

const ENDPOINT = "203.0.113.10:6379";

export function storeContract<S extends ExposureStore>(fixture: StoreFixture<S>): void {
  async function historyOf(store: ExposureStore, endpoint = ENDPOINT): Promise<StateChangeEvent[]> {
    const events: StateChangeEvent[] = [];
    for await (const event of allItems((cursor) =>
      store.history(endpoint, { limit: 2, ...(cursor ? { cursor } : {}) }),
    )) {
      events.push(event);
    }
    return events;
  }

  describe("recordObservation", () => {
    it("records the full lifecycle with exactly the expected events and alerts", async () => {
      const store = await fixture.newStore();
      const steps: [ProbeState, number][] = [
        ["auth-required", 0],
        ["open-unauthenticated", 15],
        ["open-unauthenticated", 30],
        ["auth-required", 45],
        ["closed", 60],
        ["closed", 75],
        ["closed", 90],
        ["auth-required", 105],
      ];
      const outcomes = [];
      for (const [state, at] of steps) {
        outcomes.push(
          (await store.recordObservation(observation(state, minutes(at)), { scanId: `scan-${at}` })).outcome,
        );
      }
      expect(outcomes).toEqual([
        "changed",
        "changed",
        "unchanged",
        "changed",
        "pending",
        "changed",
        "unchanged",
        "changed",
      ]);

      const events = await historyOf(store);
      expect(
        events.map((event) => ({
          at: event.at,
          from: event.previous?.state ?? null,
          to: event.current.state,
          alerts: event.alerts,
          scanId: event.scanId,
        })),
      ).toEqual([
        { at: minutes(0), from: null, to: "auth-required", alerts: ["newly-internet-facing"], scanId: "scan-0" },
        {
          at: minutes(15),
          from: "auth-required",
          to: "open-unauthenticated",
          alerts: ["newly-unauthenticated"],
          scanId: "scan-15",
        },
        { at: minutes(45), from: "open-unauthenticated", to: "auth-required", alerts: [], scanId: "scan-45" },
        { at: minutes(75), from: "auth-required", to: "closed", alerts: ["resolved"], scanId: "scan-75" },
        {
          at: minutes(105),
          from: "closed",
          to: "auth-required",
          alerts: ["newly-internet-facing"],
          scanId: "scan-105",
        },
      ]);
      expect(events.every((event) => event.firstSeenAt === minutes(0))).toBe(true);

      const current = await store.getEndpoint(ENDPOINT);
      expect(current).toMatchObject({
        state: "auth-required",
        exposure: "reachable",
        since: minutes(105),
        firstSeenAt: minutes(0),
        lastObservedAt: minutes(105),
        pendingNone: 0,
        lastEventId: events.at(-1)!.eventId,
        lastScanId: "scan-105",
      });
      // Six writes: five changes and one pending; the unchanged observations wrote nothing.
      expect(current!.version).toBe(6);
    });

    it("a duplicated observation yields one event, whatever the interleaving", async () => {
      const store = await fixture.newStore();
      const open = observation("open-unauthenticated", minutes(0));
      const first = await store.recordObservation(open);
      expect(first.outcome).toBe("changed");
      expect(first.event?.alerts).toEqual(["newly-unauthenticated"]);
      expect((await store.recordObservation(open)).outcome).toBe("duplicate");
      expect((await store.recordObservation({ ...open })).event).toBeUndefined();
      expect(await historyOf(store)).toHaveLength(1);
    });

    it("ignores an older observation that arrives after a newer one", async () => {
      const store = await fixture.newStore();
      await store.recordObservation(observation("auth-required", minutes(0)));
      await store.recordObservation(observation("open-unauthenticated", minutes(30)));
      const late = await store.recordObservation(observation("auth-required", minutes(15)));
      expect(late.outcome).toBe("stale");
      expect(late.state).toMatchObject({ state: "open-unauthenticated", lastObservedAt: minutes(30) });
      const lateNone = await store.recordObservation(observation("closed", minutes(20)));
      expect(lateNone.outcome).toBe("stale");
      expect((await store.getEndpoint(ENDPOINT))!.pendingNone).toBe(0);
      expect((await historyOf(store)).map((event) => event.current.state)).toEqual([
        "auth-required",
        "open-unauthenticated",
      ]);
    });

    it("two writers racing on one endpoint produce exactly one event", async () => {
      const store = await fixture.newStore();
      await store.recordObservation(observation("auth-required", minutes(0)));
      // The same change seen by two scanners a moment apart, plus redeliveries of each.
      const a = observation("open-unauthenticated", minutes(15));
      const b = observation("open-unauthenticated", new Date(T0 + 15 * 60_000 + 250).toISOString());
      const results = await Promise.all([a, b, a, b, a].map((result) => store.recordObservation(result)));
      const changed = results.filter((result) => result.outcome === "changed");
      expect(changed).toHaveLength(1);
      expect(changed[0]!.event?.alerts).toEqual(["newly-unauthenticated"]);
      // Every loser saw the winner's record: a duplicate, a stale one, or (if the later one lost) unchanged.
      expect(results.every((result) => ["changed", "duplicate", "stale", "unchanged"].includes(result.outcome))).toBe(
        true,
      );
      const events = await historyOf(store);
      expect(events.map((event) => event.alerts)).toEqual([["newly-internet-facing"], ["newly-unauthenticated"]]);
    });

    it("racing first sightings of a new endpoint produce exactly one event", async () => {
      const store = await fixture.newStore();
      const first = observation("open-unauthenticated", minutes(0), { ip: "203.0.113.77" });
      const results = await Promise.all(Array.from({ length: 4 }, () => store.recordObservation(first)));
      expect(results.filter((result) => result.outcome === "changed")).toHaveLength(1);
      expect(await historyOf(store, "203.0.113.77:6379")).toHaveLength(1);
    });

    it("writes an unchanged endpoint only when its record is older than the checkpoint interval", async () => {
      const store = await fixture.newStore();
      const hour = 60;
      const options = { checkpointIntervalMs: 6 * 3_600_000 };
      await store.recordObservation(observation("auth-required", minutes(0)), options);
      const rawItem = () => fixture.rawRecord(store, ENDPOINT);
      const before = await rawItem();

      for (const at of [1, 2, 5]) {
        expect((await store.recordObservation(observation("auth-required", minutes(at * hour)), options)).outcome).toBe(
          "unchanged",
        );
      }
      // Nothing was written: the stored item is byte-for-byte what the first write left.
      expect(await rawItem()).toEqual(before);

      const checkpoint = await store.recordObservation(observation("auth-required", minutes(6 * hour)), options);
      expect(checkpoint.outcome).toBe("checkpoint");
      expect(checkpoint.event).toBeUndefined();
      const after = await rawItem();
      expect(after).toMatchObject({
        lastObservedAt: minutes(6 * hour),
        since: minutes(0),
        version: before!.version + 1,
      });
      // The interval restarts from the checkpoint.
      expect((await store.recordObservation(observation("auth-required", minutes(7 * hour)), options)).outcome).toBe(
        "unchanged",
      );
      expect(await historyOf(store)).toHaveLength(1);
    });

    it("records a first sighting at exposure none without an event", async () => {
      const store = await fixture.newStore();
      const result = await store.recordObservation(observation("filtered", minutes(0)));
      expect(result.outcome).toBe("first-seen");
      expect(await store.getEndpoint(ENDPOINT)).toMatchObject({
        state: "filtered",
        exposure: "none",
        lastEventId: null,
      });
      expect(await historyOf(store)).toEqual([]);
      const opened = await store.recordObservation(observation("busy", minutes(15)));
      expect(opened.event).toMatchObject({
        previous: { state: "filtered", exposure: "none" },
        alerts: ["newly-internet-facing"],
      });
    });
    it("records what the pure rules decide, also with redeliveries racing the originals", async () => {
      const store = await fixture.newStore();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.constantFrom(...PROBE_STATES), { minLength: 1, maxLength: 12 }),
          fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
          async (states, redeliver) => {
            const ip = `198.18.0.${++run}`;
            const observations = states.map((state, i) => observation(state, minutes(i * 15), { ip }));
            // What the rules alone decide, replayed in memory.
            let recorded: EndpointState | null = null;
            const expected: StateChangeEvent[] = [];
            for (const result of observations) {
              const decision = decideTransition(recorded, result);
              recorded = decision.next ?? recorded;
              if (decision.event) expected.push(decision.event);
            }
            // The store, with some observations delivered twice at once.
            for (const [i, result] of observations.entries()) {
              await Promise.all(
                (redeliver[i] ? [result, result] : [result]).map((copy) => store.recordObservation(copy)),
              );
            }
            expect(await historyOf(store, `${ip}:6379`)).toEqual(expected);
            expect(await store.getEndpoint(`${ip}:6379`)).toEqual(recorded);
          },
        ),
        { numRuns: 8 },
      );
    });
  });

  describe("reads", () => {
    it("lists what is exposed now, most severe first, and drops resolved endpoints", async () => {
      const store = await fixture.newStore();
      const at = (ip: string, state: ProbeState, minute: number, extra: Partial<ProbeResult> = {}) =>
        store.recordObservation(observation(state, minutes(minute), { ip, ...extra }));
      await at("203.0.113.1", "auth-required", 0); // reachable, longest exposed
      await at("203.0.113.2", "open-unauthenticated", 10);
      await at("203.0.113.3", "open-unauthenticated", 20, { findings: [CVE_CRITICAL] });
      await at("203.0.113.4", "busy", 5, { findings: [CVE_HIGH] });
      await at("203.0.113.5", "closed", 0); // never exposed: not listed
      await at("203.0.113.6", "open-unauthenticated", 1);
      await at("203.0.113.7", "not-redis", 30);
      await at("203.0.113.8", "auth-required", 2); // exposed, then gone for two observations
      await at("203.0.113.8", "closed", 40);
      await at("203.0.113.9", "protected-mode", 3); // exposed, then gone once: still listed (pending)
      await at("203.0.113.9", "filtered", 40);
      await at("203.0.113.8", "filtered", 50);

      const listed: string[] = [];
      let pages = 0;
      for await (const state of allItems((cursor) => {
        pages++;
        return store.listExposed({ limit: 3, ...(cursor ? { cursor } : {}) });
      })) {
        listed.push(`${state.ip} ${state.exposure}`);
      }
      expect(listed).toEqual([
        "203.0.113.3 unauthenticated", // critical finding
        "203.0.113.6 unauthenticated", // since minute 1
        "203.0.113.2 unauthenticated", // since minute 10
        "203.0.113.4 reachable", // high finding
        "203.0.113.1 reachable", // since minute 0
        "203.0.113.9 reachable", // since minute 3, resolution pending
        "203.0.113.7 reachable", // since minute 30
      ]);
      expect(pages).toBeGreaterThanOrEqual(3);
    });

    it("reads endpoints by IP and by owner", async () => {
      const store = await fixture.newStore();
      const asset = {
        provider: "aws" as const,
        accountId: "111122223333",
        region: "eu-west-1",
        resourceType: "ec2-instance",
        resourceId: "i-0abc",
      };
      await store.recordObservation(observation("auth-required", minutes(0), { port: 6380, asset }));
      await store.recordObservation(observation("closed", minutes(0), { port: 6379, asset }));
      await store.recordObservation(
        observation("open-unauthenticated", minutes(0), {
          ip: "203.0.113.20",
          asset: { ...asset, resourceId: "i-0def" },
        }),
      );
      await store.recordObservation(observation("busy", minutes(0), { ip: "198.51.100.9" }));
      await store.recordObservation(observation("busy", minutes(0), { ip: "2001:db8::5" }));

      expect((await store.endpointsOfIp("203.0.113.10")).map((state) => state.endpoint)).toEqual([
        "203.0.113.10:6379",
        "203.0.113.10:6380",
      ]);
      expect((await store.endpointsOfIp("2001:db8::5")).map((state) => state.endpoint)).toEqual(["[2001:db8::5]:6379"]);
      expect(await store.getEndpoint("[2001:db8::5]:6379")).toMatchObject({ ip: "2001:db8::5", state: "busy" });
      const owned = await store.endpointsByOwner("111122223333");
      expect(owned.items.map((state) => state.endpoint).sort()).toEqual([
        "203.0.113.10:6379",
        "203.0.113.10:6380",
        "203.0.113.20:6379",
      ]);
      const resource = await store.endpointsByOwner("111122223333", { resourceId: "i-0def" });
      expect(resource.items.map((state) => state.endpoint)).toEqual(["203.0.113.20:6379"]);
      expect((await store.endpointsByOwner("999999999999")).items).toEqual([]);
    });

    it("reads an endpoint's history within a time range, oldest first", async () => {
      const store = await fixture.newStore();
      const states: ProbeState[] = ["auth-required", "open-unauthenticated", "busy", "auth-required", "error"];
      for (const [i, state] of states.entries()) await store.recordObservation(observation(state, minutes(i * 10)));
      const window = await store.history(ENDPOINT, { from: minutes(10), to: minutes(40) });
      expect(window.items.map((event) => event.at)).toEqual([minutes(10), minutes(20), minutes(30)]);
      expect(window.cursor).toBeUndefined();
      expect((await historyOf(store)).map((event) => event.current.state)).toEqual(states);
    });

    it("reads all events in a time range across day boundaries, page by page", async () => {
      const store = await fixture.newStore();
      const times = [
        "2026-03-01T23:50:00.000Z", // before the range
        "2026-03-01T23:55:00.000Z",
        "2026-03-01T23:59:59.999Z",
        // 2026-03-02: nothing at all
        "2026-03-03T00:00:00.000Z",
        "2026-03-03T12:00:00.000Z",
        "2026-03-03T12:00:00.000Z", // same instant, another endpoint
        "2026-03-03T23:59:59.999Z",
        "2026-03-04T00:00:00.000Z", // the (exclusive) end of the range
      ];
      for (const [i, at] of times.entries()) {
        await store.recordObservation(observation("open-unauthenticated", at, { ip: `198.51.100.${i + 1}` }));
      }
      const range = { from: "2026-03-01T23:55:00.000Z", to: "2026-03-04T00:00:00.000Z" };
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.eventsBetween(range, { limit: 2, ...(cursor ? { cursor } : {}) });
        pages.push(page.items.map((event) => `${event.at} ${event.ip}`));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(pages.every((page) => page.length <= 2)).toBe(true);
      expect(pages.length).toBeGreaterThanOrEqual(3);
      expect(pages.flat()).toEqual([
        "2026-03-01T23:55:00.000Z 198.51.100.2",
        "2026-03-01T23:59:59.999Z 198.51.100.3",
        "2026-03-03T00:00:00.000Z 198.51.100.4",
        "2026-03-03T12:00:00.000Z 198.51.100.5",
        "2026-03-03T12:00:00.000Z 198.51.100.6",
        "2026-03-03T23:59:59.999Z 198.51.100.7",
      ]);
      // One big page returns the same, and an empty or inverted range returns nothing.
      expect((await store.eventsBetween(range, { limit: 50 })).items).toHaveLength(6);
      expect((await store.eventsBetween({ from: range.to, to: range.from })).items).toEqual([]);
      await expect(store.eventsBetween(range, { cursor: "not-a-cursor" })).rejects.toThrow(/invalid page cursor/);
      // Both stores refuse a range of more than MAX_RANGE_DAYS alike (DynamoDB reads one partition per day).
      const decade = { from: "2016-01-01T00:00:00Z", to: "2026-03-05T00:00:00Z" };
      await expect(store.eventsBetween(decade)).rejects.toThrow(/at most 3700 days/);
      await expect(store.listScans(decade)).rejects.toThrow(/at most 3700 days/);
    });
  });

  describe("scan records", () => {
    it("counts each shard once, even when delivered twice, and the last shard completes the scan", async () => {
      let clock = Date.parse("2026-03-01T10:00:00.000Z");
      const store = await fixture.newStore({ now: () => new Date(clock) });
      const start = {
        scanId: "scan-a",
        targets: 7,
        shards: 3,
        accountsRead: ["111122223333"],
        regionsRead: ["eu-west-1"],
      };
      const started = await store.startScan(start);
      expect(started).toMatchObject({
        created: true,
        scan: { startedAt: "2026-03-01T10:00:00.000Z", completedAt: null },
      });
      expect((await store.startScan(start)).created).toBe(false);

      const one = await store.recordShard({
        scanId: "scan-a",
        shardId: "s1",
        countsByState: { closed: 2, "auth-required": 1 },
      });
      expect(one).toMatchObject({ counted: true, completed: false, scan: { shardsDone: 1 } });
      const again = await store.recordShard({
        scanId: "scan-a",
        shardId: "s1",
        countsByState: { closed: 2, "auth-required": 1 },
      });
      expect(again).toMatchObject({ counted: false, completed: false, scan: { shardsDone: 1 } });
      expect(again.scan.countsByState).toEqual({ closed: 2, "auth-required": 1 });

      // Two different shards at once: both count.
      const [two, three] = await Promise.all([
        store.recordShard({ scanId: "scan-a", shardId: "s2", countsByState: { closed: 1, "open-unauthenticated": 1 } }),
        store.recordShard({ scanId: "scan-a", shardId: "s3", countsByState: { filtered: 2 } }),
      ]);
      expect([two!.counted, three!.counted]).toEqual([true, true]);
      expect([two!.completed, three!.completed].filter(Boolean)).toHaveLength(1);

      clock += 60_000;
      const late = await store.recordShard({ scanId: "scan-a", shardId: "s3", countsByState: { filtered: 2 } });
      expect(late).toMatchObject({ counted: false, completed: false });
      const scan = await store.getScan("scan-a");
      expect(scan).toMatchObject({
        scanId: "scan-a",
        targets: 7,
        shards: 3,
        shardsDone: 3,
        countsByState: { closed: 3, "auth-required": 1, "open-unauthenticated": 1, filtered: 2 },
        accountsRead: ["111122223333"],
        regionsRead: ["eu-west-1"],
        gaps: [],
        completedAt: "2026-03-01T10:00:00.000Z",
      });
      expect(scan).not.toHaveProperty("doneShards");
    });

    it("completes an empty scan at once, rejects unknown scans and states, and lists scans by time", async () => {
      const store = await fixture.newStore();
      const empty = await store.startScan({
        scanId: "scan-empty",
        targets: 0,
        shards: 0,
        startedAt: "2026-03-02T00:00:00Z",
      });
      expect(empty.scan.completedAt).toBe("2026-03-02T00:00:00.000Z");
      await expect(store.recordShard({ scanId: "nope", shardId: "s1", countsByState: {} })).rejects.toThrow(
        /unknown scan/,
      );
      await expect(
        store.recordShard({ scanId: "scan-empty", shardId: "s1", countsByState: { opened: 1 } as never }),
      ).rejects.toThrow(/unknown probe state/);

      await store.startScan({ scanId: "scan-b", targets: 1, shards: 1, startedAt: "2026-03-01T23:59:00Z" });
      await store.startScan({ scanId: "scan-c", targets: 1, shards: 1, startedAt: "2026-03-03T08:00:00Z" });
      const listed = await store.listScans({ from: "2026-03-01T00:00:00Z", to: "2026-03-03T00:00:00Z" }, { limit: 1 });
      expect(listed.items.map((scan) => scan.scanId)).toEqual(["scan-b"]);
      const rest = await store.listScans(
        { from: "2026-03-01T00:00:00Z", to: "2026-03-03T00:00:00Z" },
        { cursor: listed.cursor! },
      );
      expect(rest.items.map((scan) => scan.scanId)).toEqual(["scan-empty"]);
      expect(rest.items[0]).toMatchObject({ completedAt: "2026-03-02T00:00:00.000Z", shardsDone: 0 });
    });
  });

  const endpointOf = (result: ProbeResult) => formatEndpoint(result.ip, result.port);

  /** Records one shard the way probeShard does: open (one read), then record every result. */
  async function recordShardResults(store: ExposureStore, results: ProbeResult[], scanId?: string) {
    const recorder = await store.beginShard(results.map(endpointOf), scanId ? { scanId } : {});
    return recorder.record(results);
  }

  describe("beginShard", () => {
    it("gives each endpoint's exposure at its last recorded observation, and none for one never seen", async () => {
      const store = await fixture.newStore();
      const ips = ["203.0.113.31", "203.0.113.32", "203.0.113.33", "203.0.113.34"];
      const states: ProbeState[] = ["open-unauthenticated", "auth-required", "closed", "filtered"];
      await recordShardResults(
        store,
        states.map((state, i) => observation(state, minutes(0), { ip: ips[i] as string })),
        "scan-1",
      );
      // A second sweep: the third endpoint stays closed, the first is closed once (still exposed, pending).
      await recordShardResults(store, [observation("closed", minutes(15), { ip: ips[0] as string })], "scan-2");
      const recorder = await store.beginShard([...ips.map((ip) => `${ip}:6379`), "203.0.113.99:6379"]);
      expect(ips.map((ip) => recorder.recordedExposure(`${ip}:6379`))).toEqual([
        "unauthenticated",
        "reachable",
        "none",
        "none",
      ]);
      expect(recorder.recordedExposure("203.0.113.99:6379")).toBeUndefined();
    });

    it("records what the pure rules decide, with shards redelivered and racing each other", async () => {
      const store = await fixture.newStore();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(fc.constantFrom(...PROBE_STATES), { minLength: 4, maxLength: 4 }), {
            minLength: 1,
            maxLength: 8,
          }),
          fc.array(fc.constantFrom("once", "twice-racing", "twice-after"), { minLength: 8, maxLength: 8 }),
          async (sweeps, delivery) => {
            run++;
            // Four endpoints in one shard, swept up to eight times; the scan id differs per sweep.
            const ips = [0, 1, 2, 3].map((i) => `198.18.${run}.${i + 1}`);
            const shards = sweeps.map((states, s) =>
              states.map((state, i) => observation(state, minutes(s * 15), { ip: ips[i] as string })),
            );
            const expected = new Map<string, StateChangeEvent[]>();
            const finalState = new Map<string, EndpointState | null>();
            for (const ip of ips) {
              let recorded: EndpointState | null = null;
              const events: StateChangeEvent[] = [];
              for (const [s, shard] of shards.entries()) {
                const result = shard.find((r) => r.ip === ip) as ProbeResult;
                const decision = decideTransition(recorded, result, {
                  scanId: `scan-${run}-${s}`,
                  checkpointIntervalMs: Number.POSITIVE_INFINITY,
                });
                recorded = decision.next ?? recorded;
                if (decision.event) events.push(decision.event);
              }
              expected.set(`${ip}:6379`, events);
              finalState.set(`${ip}:6379`, recorded);
            }
            for (const [s, shard] of shards.entries()) {
              const scanId = `scan-${run}-${s}`;
              const how = delivery[s];
              if (how === "twice-racing")
                await Promise.all([recordShardResults(store, shard, scanId), recordShardResults(store, shard, scanId)]);
              else await recordShardResults(store, shard, scanId);
              if (how === "twice-after") await recordShardResults(store, shard, scanId);
            }
            for (const ip of ips) {
              const endpoint = `${ip}:6379`;
              expect(await historyOf(store, endpoint)).toEqual(expected.get(endpoint));
              const recorded = finalState.get(endpoint);
              const stored = await store.getEndpoint(endpoint);
              // Unchanged observations are not written, so only the facts and the version path are compared.
              expect(stored?.state).toEqual(recorded?.state);
              expect(stored?.pendingNone).toEqual(recorded?.pendingNone);
              expect(stored?.lastEventId).toEqual(recorded?.lastEventId);
              // Every endpoint was observed by the last sweep, changed or not.
              expect(stored?.lastObservedAt).toEqual(minutes((shards.length - 1) * 15));
            }
          },
        ),
        { numRuns: 10 },
      );
    });
  });

  describe("lastObservedAt (seen records)", () => {
    const asset = {
      provider: "aws" as const,
      accountId: "111122223333",
      region: "eu-west-1",
      resourceType: "ec2-instance",
      resourceId: "i-0seen",
    };
    /** Two endpoints in one digest bucket, so one bucket's seen record is written by two shards. */
    function sameBucketPair(): [string, string] {
      const first = "203.0.113.41";
      const bucket = bucketOf(`${first}:6379`);
      for (let i = 0; i < 100_000; i++) {
        const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        if (bucketOf(`${ip}:6379`) === bucket) return [first, ip];
      }
      throw new Error("no second endpoint in the bucket");
    }

    it("is the time of the last shard that observed an unchanged endpoint, in every read", async () => {
      const store = await fixture.newStore();
      const [ip, sibling] = sameBucketPair();
      const other = "198.51.100.42";
      const sweep = (at: number, ips: string[]) =>
        ips.map((address) =>
          observation(address === sibling ? "closed" : "open-unauthenticated", minutes(at), { ip: address, asset }),
        );
      await recordShardResults(store, sweep(0, [ip, sibling, other]), "scan-1");
      // Later sweeps change nothing: no record is rewritten, but each one observed the endpoints. The
      // bucket of `ip` and `sibling` is split over two shards of one scan.
      await recordShardResults(store, sweep(15, [ip]), "scan-2");
      await recordShardResults(store, sweep(16, [sibling, other]), "scan-2");
      await recordShardResults(store, sweep(30, [ip]), "scan-3");
      await recordShardResults(store, sweep(31, [sibling]), "scan-3");
      // A late redelivery of an older shard moves nothing back.
      await recordShardResults(store, sweep(15, [ip]), "scan-2");

      const endpoint = `${ip}:6379`;
      expect((await fixture.rawRecord(store, endpoint))?.version).toBe(1);
      expect((await store.getEndpoint(endpoint))?.lastObservedAt).toBe(minutes(30));
      // One time per scan and bucket: its earliest observation (the sibling was observed at minute 31).
      expect((await store.getEndpoint(`${sibling}:6379`))?.lastObservedAt).toBe(minutes(30));
      // Not a target of scan-3 (its address was released, say): the last scan that observed it.
      expect((await store.getEndpoint(`${other}:6379`))?.lastObservedAt).toBe(minutes(16));
      const exposed = await store.listExposed();
      expect(exposed.items.map((state) => [state.endpoint, state.lastObservedAt])).toEqual([
        [`${other}:6379`, minutes(16)],
        [endpoint, minutes(30)],
      ]);
      expect((await store.endpointsOfIp(ip)).map((state) => state.lastObservedAt)).toEqual([minutes(30)]);
      const owned = await store.endpointsByOwner(asset.accountId, { limit: 10 });
      expect(Object.fromEntries(owned.items.map((state) => [state.endpoint, state.lastObservedAt]))).toEqual({
        [endpoint]: minutes(30),
        [`${sibling}:6379`]: minutes(30),
        [`${other}:6379`]: minutes(16),
      });
      // A change is still recorded against the record as written, and the history is unaffected.
      const [changed] = await recordShardResults(
        store,
        [observation("auth-required", minutes(45), { ip, asset })],
        "scan-4",
      );
      expect(changed?.outcome).toBe("changed");
      expect((await store.getEndpoint(endpoint))?.lastObservedAt).toBe(minutes(45));
      expect((await historyOf(store, endpoint)).map((event) => event.at)).toEqual([minutes(0), minutes(45)]);
    });
  });

  describe("acknowledgements", () => {
    const ack = (endpoint: string, createdAt: string, until: string): Acknowledgement => ({
      id: acknowledgementId(endpoint, createdAt),
      endpoint,
      reason: "honeypot of the red team",
      author: "alice",
      createdAt,
      until,
      revokedAt: null,
      revokedBy: null,
      expiryAlertedAt: null,
    });

    it("keeps every acknowledgement, per endpoint and in all, oldest first, and refuses a duplicate id", async () => {
      const store = await fixture.newStore();
      const first = ack(ENDPOINT, "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z");
      const second = ack(ENDPOINT, "2026-03-05T00:00:00.000Z", "2026-05-01T00:00:00.000Z");
      const other = ack("203.0.113.10:63790", "2026-03-02T00:00:00.000Z", "2026-04-01T00:00:00.000Z");
      for (const a of [second, other, first]) await store.putAcknowledgement(a);
      expect(await store.listAcknowledgements(ENDPOINT)).toEqual([first, second]);
      expect((await store.listAcknowledgements()).map((a) => a.id)).toEqual([first.id, other.id, second.id]);
      await expect(store.putAcknowledgement(first)).rejects.toThrow();
    });

    it("revokes only what is in force, once; marks the expiry alert exactly once", async () => {
      const store = await fixture.newStore();
      const expired = ack(ENDPOINT, "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z");
      const active = ack(ENDPOINT, "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z");
      await store.putAcknowledgement(expired);
      await store.putAcknowledgement(active);
      const revoked = await store.revokeAcknowledgements(ENDPOINT, "2026-03-10T00:00:00.000Z", "bob");
      expect(revoked).toEqual([{ ...active, revokedAt: "2026-03-10T00:00:00.000Z", revokedBy: "bob" }]);
      expect(await store.revokeAcknowledgements(ENDPOINT, "2026-03-11T00:00:00.000Z", "bob")).toEqual([]);
      expect(await store.markExpiryAlerted(expired, "2026-02-01T00:15:00.000Z")).toBe(true);
      expect(await store.markExpiryAlerted(expired, "2026-02-01T00:30:00.000Z")).toBe(false);
      const [stored] = await store.listAcknowledgements(ENDPOINT);
      expect(stored?.expiryAlertedAt).toBe("2026-02-01T00:15:00.000Z");
    });
  });
}
