// The bench's pure parts: the fleet plan (ground truth), the per-address server's replies, scoring,
// and nmap's XML mapped onto our states. nmap-sample.xml is real `nmap -sT -p6379 --script redis-info
// -oX` output captured from a lab fleet (one host of each kind).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Endpoint, planFleet, truthCounts } from "../../bench/fleet.ts";
import { greetingOf, PROTECTED_MODE_REPLY, replyTo, splitCommands } from "../../bench/own-redis.ts";
import { parseNmapXml, score, type Verdict } from "../../bench/score.ts";
import { classifyError, classifyExchange } from "../../shared/probe/redis/classify.ts";
import { RespReader } from "../../shared/probe/redis/resp.ts";
import { canonicalIpv6 } from "../../shared/probe/targets.ts";

const base = { size: 1_000, openShare: 0.1, closedShare: 0.3, dropped: 20, loss: 0, slow: 30, seed: 3 };

describe("fleet plan", () => {
  it("has the requested mix, distinct addresses in 198.18.0.0/15, and is the same for the same seed", () => {
    const endpoints = planFleet(base);
    const counts = truthCounts(endpoints);
    expect(endpoints).toHaveLength(1_000);
    expect(counts.closed).toBe(300);
    expect(counts.dropped).toBe(20);
    expect(counts.filtered).toBe(580);
    expect(new Set(endpoints.map((e) => e.ip)).size).toBe(1_000);
    for (const e of endpoints) {
      const [a, b, , d] = e.ip.split(".").map(Number);
      expect(a).toBe(198);
      expect([18, 19]).toContain(b);
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThan(255);
    }
    expect(planFleet(base)).toEqual(endpoints);
    expect(planFleet({ ...base, seed: 4 })).not.toEqual(endpoints);
  });

  it("puts an IPv6 fleet in the documentation /64, each address in the canonical text results carry", () => {
    const endpoints = planFleet({ ...base, family: "ipv6" });
    expect(endpoints).toHaveLength(base.size);
    expect(new Set(endpoints.map((e) => e.ip)).size).toBe(base.size);
    for (const { ip } of endpoints) {
      expect(ip.startsWith("2001:db8:0:1::")).toBe(true);
      expect(canonicalIpv6(ip)).toBe(ip);
    }
    expect(truthCounts(endpoints)).toEqual(truthCounts(planFleet(base)));
  });

  it("knows the version of every unauthenticated endpoint and gives slow answerers a delay or a SYN drop", () => {
    const endpoints = planFleet(base, "7.0.15");
    const open = endpoints.filter((e) => e.truth === "open-unauthenticated");
    expect(open.length).toBeGreaterThan(50);
    expect(open.every((e) => typeof e.version === "string")).toBe(true);
    expect(new Set(open.map((e) => e.version))).toEqual(new Set(["7.0.15", "5.0.7", "6.2.6", "7.2.4", "8.0.2"]));
    const delayed = endpoints.filter((e) => e.delayMs !== undefined);
    expect(delayed).toHaveLength(15);
    expect(delayed.every((e) => e.server === "own" && e.persona?.delayMs === e.delayMs)).toBe(true);
    const synDrops = endpoints.filter((e) => e.synDropOnce);
    expect(synDrops).toHaveLength(15);
    expect(synDrops.every((e) => e.truth !== "filtered")).toBe(true);
  });

  it("shuffles: the probe order does not group endpoints by state", () => {
    const endpoints = planFleet({ ...base, slow: 0, dropped: 0 });
    let runs = 1;
    for (let i = 1; i < endpoints.length; i++) if (endpoints[i]?.truth !== endpoints[i - 1]?.truth) runs++;
    expect(runs).toBeGreaterThan(300);
  });

  it("refuses shares that do not fit", () => {
    expect(() => planFleet({ ...base, openShare: 0.8, closedShare: 0.3 })).toThrow(/more than the fleet/);
  });
});

describe("per-address Redis server", () => {
  it("splits pipelined RESP and inline commands and keeps an incomplete tail", () => {
    const input = Buffer.from("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\nQUIT\r\n*1\r\n$4\r\nPI");
    const { commands, rest } = splitCommands(input);
    expect(commands).toEqual([["PING"], ["INFO", "commandstats"], ["QUIT"]]);
    expect(rest.toString()).toBe("*1\r\n$4\r\nPI");
  });

  /** What our own probe's classifier concludes from the persona's replies to PING + INFO. */
  function classified(persona: Parameters<typeof replyTo>[0]): string {
    const greeting = greetingOf(persona);
    const text = greeting ?? replyTo(persona, ["PING"]).reply + replyTo(persona, ["INFO"]).reply;
    const reader = new RespReader({ maxBytes: 65_536, maxBulkBytes: 65_536 });
    const bytes = Buffer.from(text, "latin1");
    reader.feed(bytes);
    return classifyExchange({ replies: reader.values, firstBytes: bytes.subarray(0, 256), protocolError: reader.error })
      .state;
  }

  it("answers as the state it plays, as the probe's classifier reads it", () => {
    expect(classified({ kind: "open", version: "6.2.6" })).toBe("open-unauthenticated");
    expect(classified({ kind: "auth" })).toBe("auth-required");
    expect(classified({ kind: "auth-old" })).toBe("auth-required");
    expect(classified({ kind: "protected" })).toBe("protected-mode");
    expect(classified({ kind: "busy" })).toBe("busy");
    expect(classified({ kind: "not-redis" })).toBe("not-redis");
    expect(replyTo({ kind: "open", version: "6.2.6" }, ["INFO"]).reply).toContain("redis_version:6.2.6");
    expect(replyTo({ kind: "auth" }, ["QUIT"])).toEqual({ reply: "+OK\r\n", close: true });
    expect(PROTECTED_MODE_REPLY.startsWith("-DENIED Redis is running in protected mode")).toBe(true);
  });
});

describe("scoring and nmap's output", () => {
  const xml = readFileSync(new URL("./nmap-sample.xml", import.meta.url), "utf8");

  it("maps nmap's port states and redis-info output onto our states", () => {
    const verdicts = parseNmapXml(xml, classifyError);
    expect(verdicts.get("198.19.6.15")).toEqual({ state: "closed", exposure: "none" });
    expect(verdicts.get("198.18.202.214")).toEqual({ state: "filtered", exposure: "none" });
    expect(verdicts.get("198.18.159.186")).toEqual({
      state: "open-unauthenticated",
      exposure: "unauthenticated",
      version: "7.0.15",
    });
    // Open, but redis-info printed nothing (its error is hidden without -d): reachable, state unknown.
    expect(verdicts.get("198.18.32.65")).toEqual({ state: null, exposure: "reachable" });
    expect(verdicts.size).toBe(4);
  });

  it("reads a script error, when nmap shows one, with the probe's reply rules", () => {
    const withError = xml.replace(
      /(<address addr="198\.18\.32\.65"[\s\S]*?<state state="open"[^>]*\/>)/,
      '$1<script id="redis-info" output="ERROR: Script execution failed (use -d to debug)&#xa;ERROR: -DENIED Redis is running in protected mode because ..."/>',
    );
    expect(parseNmapXml(withError, classifyError).get("198.18.32.65")?.state).toBe("protected-mode");
  });

  it("reads IPv6 hosts (nmap -6) by their address", () => {
    const v6 = xml.replace('addr="198.19.6.15" addrtype="ipv4"', 'addr="2001:db8:0:1::2:7" addrtype="ipv6"');
    expect(v6).not.toBe(xml);
    expect(parseNmapXml(v6, classifyError).get("2001:db8:0:1::2:7")).toEqual({ state: "closed", exposure: "none" });
  });

  it("scores per state, exposure and version, and counts what a tool did not report", () => {
    const endpoints: Endpoint[] = [
      { ip: "198.18.0.1", truth: "filtered", server: "none" },
      { ip: "198.18.0.2", truth: "auth-required", server: "real-auth" },
      { ip: "198.18.0.3", truth: "open-unauthenticated", server: "real-open", version: "7.0.15" },
      { ip: "198.18.0.4", truth: "closed", server: "none" },
    ];
    const verdicts = new Map<string, Verdict>([
      ["198.18.0.1", { state: "filtered", exposure: "none" }],
      ["198.18.0.2", { state: null, exposure: "reachable" }],
      ["198.18.0.3", { state: "open-unauthenticated", exposure: "unauthenticated", version: "7.0.14" }],
    ]);
    const result = score(endpoints, verdicts);
    expect(result.correct).toBe(2);
    expect(result.exposureCorrect).toBe(3);
    expect(result.versionsRead).toBe(0);
    expect(result.versionsExpected).toBe(1);
    expect(result.missing).toBe(1);
    expect(result.byState["auth-required"]).toEqual({
      total: 1,
      correct: 0,
      wrong: { "reachable (state not reported)": 1 },
    });
    expect(result.byState.closed?.wrong).toEqual({ missing: 1 });
  });
});
