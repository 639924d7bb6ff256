import { describe, expect, it } from "vitest";
import { AddressSet } from "../../shared/net/ip.ts";
import { isAffected, REDIS_CVES, VALKEY_CVES } from "../../shared/probe/redis/cves.ts";
import { compareVersions, parseVersion, type ServerFacts } from "../../shared/probe/redis/facts.ts";
import { compromiseFindings, cveFindings } from "../../shared/probe/redis/findings.ts";
import { parseInfo, serverFactsOf } from "../../shared/probe/redis/info.ts";

const rediShell = REDIS_CVES.find((cve) => cve.id === "CVE-2025-49844")!;

describe("versions", () => {
  it("parses and compares", () => {
    expect(parseVersion("7.0.15")).toEqual([7, 0, 15]);
    expect(parseVersion("6.2")).toEqual([6, 2, 0]);
    expect(parseVersion("8.2.2-rc1")).toEqual([8, 2, 2]);
    expect(parseVersion("unknown")).toBeNull();
    expect(parseVersion("df-v1.25.4")).toEqual([1, 25, 4]);
    expect(compareVersions([7, 2, 10], [7, 2, 9])).toBe(1);
    expect(compareVersions([7, 2, 9], [7, 2, 10])).toBe(-1);
    expect(compareVersions([7, 2], [7, 2, 0])).toBe(0);
  });

  it.each([
    ["7.2.10", true, "7.2.11"], // below its line's fix
    ["7.2.11", false, null], // at the fix
    ["7.2.12", false, null],
    ["7.0.15", true, "7.2.11"], // a line with no fix is affected throughout
    ["5.0.7", true, "6.2.20"],
    ["8.2.1", true, "8.2.2"],
    ["8.4.0", false, null], // newer than every fix: born fixed
    ["6.2.20", false, null],
  ])("RediShell and %s: affected %s, fixed in %s", (version, affected, fixedIn) => {
    expect(isAffected(version, rediShell)).toEqual({ affected, fixedIn });
  });
});

describe("CVE findings", () => {
  const facts = (version: string, product: ServerFacts["product"] = "redis"): ServerFacts => ({
    product,
    version,
    mode: "standalone",
    role: "master",
  });

  it("lists every CVE of Redis 7.0.15 from the table, with evidence and fix", () => {
    const ids = cveFindings(facts("7.0.15")).map((finding) => finding.id);
    expect(ids).toContain("CVE-2025-49844");
    expect(ids).toContain("CVE-2024-31449");
    expect(ids).not.toContain("CVE-2022-24834"); // fixed in 7.0.12
    expect(ids).not.toContain("CVE-2021-32675"); // fixed before 7.0
    const rediShellFinding = cveFindings(facts("7.0.15")).find((finding) => finding.id === "CVE-2025-49844");
    expect(rediShellFinding).toMatchObject({
      kind: "cve",
      severity: "critical",
      evidence: "redis_version:7.0.15",
      fixedIn: "7.2.11",
    });
  });

  it("has none for a fully patched release, and none for a product without a table", () => {
    expect(cveFindings(facts("8.6.3"))).toEqual([]);
    expect(cveFindings(facts("9.1.1", "valkey"))).toEqual([]);
    expect(cveFindings(facts("df-v1.25.4", "dragonfly"))).toEqual([]);
  });

  it("matches Valkey against Valkey's own releases and fields", () => {
    const valkey = cveFindings(facts("8.0.1", "valkey"));
    const ids = valkey.map((finding) => finding.id);
    expect(ids).toContain("CVE-2025-49844");
    expect(ids).toContain("CVE-2025-67733");
    expect(valkey.find((finding) => finding.id === "CVE-2025-49844")).toMatchObject({
      evidence: "valkey_version:8.0.1",
      fixedIn: "8.0.6",
    });
    expect(valkey.find((finding) => finding.id === "CVE-2025-67733")?.fixedIn).toBe("8.0.7");
    // 8.1.9 carries every fix of the 8.1 line in the table.
    expect(cveFindings(facts("8.1.9", "valkey"))).toEqual([]);
  });

  it("says a line the flaw never reached is not affected (XACKDEL came with 8.2)", () => {
    const xackdel = REDIS_CVES.find((cve) => cve.id === "CVE-2025-62507")!;
    expect(isAffected("8.2.2", xackdel)).toEqual({ affected: true, fixedIn: "8.2.3" });
    expect(isAffected("8.2.3", xackdel)).toEqual({ affected: false, fixedIn: null });
    expect(isAffected("8.0.4", xackdel)).toEqual({ affected: false, fixedIn: null });
    expect(isAffected("7.4.9", xackdel)).toEqual({ affected: false, fixedIn: null });
    expect(isAffected("8.4.0", xackdel)).toEqual({ affected: false, fixedIn: null });
  });

  it("treats every KeyDB as affected by the unmerged Lua fixes", () => {
    const keydb = cveFindings(facts("6.3.4", "keydb"));
    expect(keydb.map((finding) => finding.id)).toContain("CVE-2025-49844");
    expect(keydb[0]?.evidence).toBe("redis_version:6.3.4");
    expect(keydb[0]?.fixedIn).toBeUndefined();
  });

  it("keeps a source beside every row", () => {
    for (const cve of [...REDIS_CVES, ...VALKEY_CVES]) {
      expect(cve.source.length, cve.id).toBeGreaterThan(10);
      expect(cve.id).toMatch(/^CVE-\d{4}-\d+$/);
    }
  });
});

const REPLICA_INFO = [
  "# Server",
  "redis_version:7.0.15",
  "redis_mode:standalone",
  "os:Linux 6.1.0 x86_64",
  "uptime_in_seconds:3600",
  "executable:/usr/bin/redis-server",
  "# Persistence",
  "loading:0",
  "# Replication",
  "role:slave",
  "master_host:45.9.148.10",
  "master_port:8886",
  "master_link_status:down",
  "# Modules",
  "module:name=system,ver=1,api=1,filters=0,usedby=[],using=[],options=[]",
  "# Commandstats",
  "cmdstat_ping:calls=3,usec=1,usec_per_call=0.33,rejected_calls=0,failed_calls=0",
  "cmdstat_slaveof:calls=1,usec=100,usec_per_call=100.00,rejected_calls=0,failed_calls=0",
  "cmdstat_module|load:calls=1,usec=100,usec_per_call=100.00,rejected_calls=0,failed_calls=0",
  "cmdstat_config|get:calls=9,usec=100,usec_per_call=11.00,rejected_calls=0,failed_calls=0",
].join("\r\n");

describe("INFO facts", () => {
  it("keeps only the selected facts", () => {
    const facts = serverFactsOf(parseInfo(REPLICA_INFO));
    expect(facts).toEqual({
      product: "redis",
      version: "7.0.15",
      mode: "standalone",
      role: "replica",
      masterHost: "45.9.148.10",
      masterPort: 8886,
      masterLinkStatus: "down",
      os: "Linux 6.1.0 x86_64",
      uptimeSeconds: 3600,
      executable: "/usr/bin/redis-server",
      modules: [{ name: "system", version: "1" }],
    });
  });

  it.each([
    ["redis_version:7.2.4\r\nvalkey_version:8.0.1\r\nserver_name:valkey", "valkey", "8.0.1"],
    ["redis_version:6.2.0\r\ndragonfly_version:df-v1.21.2", "dragonfly", "df-v1.21.2"],
    ["redis_version:6.3.4\r\nexecutable:/usr/local/bin/keydb-server", "keydb", "6.3.4"],
    ["redis_version:7.0.15\r\nredis_mode:sentinel", "redis", "7.0.15"],
  ])("tells products apart: %j", (text, product, version) => {
    const facts = serverFactsOf(parseInfo(`# Server\r\n${text}\r\n`));
    expect(facts.product).toBe(product);
    expect(facts.version).toBe(version);
  });

  it("takes Valkey's version from valkey_version, never its redis_version compatibility field", () => {
    const text = "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n";
    expect(serverFactsOf(parseInfo(text))).toMatchObject({ product: "valkey", version: "8.0.1" });
    // Valkey 7.2 has no valkey_version: its redis_version is its own.
    const old = "# Server\r\nredis_version:7.2.5\r\nserver_name:valkey\r\n";
    expect(serverFactsOf(parseInfo(old))).toMatchObject({ product: "valkey", version: "7.2.5" });
  });

  it("keeps facts free of control characters and at most 256 characters long", () => {
    const info = parseInfo(
      `redis_version:7.0.15\u001b[31m\r\nrole:slave\r\nmaster_host:${"m".repeat(70_000)}\r\nos:Linux\u001b]0;owned\u0007 6.1\r\nexecutable:/usr/bin/redis\u009b2Jserver\r\nmodule:name=evil\u001b[2J,ver=1,path=/x.so\r\n`,
    );
    const facts = serverFactsOf(info);
    expect(facts.version).toBe("7.0.15[31m");
    expect(facts.os).toBe("Linux]0;owned 6.1");
    expect(facts.executable).toBe("/usr/bin/redis2Jserver");
    expect(facts.modules?.[0]?.name).toBe("evil[2J");
    expect(facts.masterHost).toHaveLength(256);
    expect(facts.masterHost?.endsWith("...")).toBe(true);
  });

  it("reads sentinel and cluster modes", () => {
    expect(serverFactsOf(parseInfo("redis_version:7.0.15\r\nredis_mode:sentinel\r\n")).mode).toBe("sentinel");
    expect(serverFactsOf(parseInfo("redis_version:7.0.15\r\nredis_mode:cluster\r\n")).mode).toBe("cluster");
  });
});

describe("compromise findings", () => {
  it("sees a rogue master, a system module and admin commands, with the INFO line as evidence", () => {
    const info = parseInfo(REPLICA_INFO);
    const findings = compromiseFindings(info, serverFactsOf(info));
    expect(findings.map((finding) => [finding.id, finding.severity, finding.evidence])).toEqual([
      ["ioc:rogue-master", "critical", "master_host:45.9.148.10"],
      ["ioc:system-module", "critical", "module:name=system"],
      ["ioc:admin-commands", "high", "cmdstat_slaveof:calls=1 cmdstat_module|load:calls=1"],
    ]);
  });

  it("accepts private masters and allowed public ones", () => {
    const privateMaster = parseInfo("redis_version:7.0.15\r\nrole:slave\r\nmaster_host:10.0.3.7\r\n");
    expect(compromiseFindings(privateMaster, serverFactsOf(privateMaster))).toEqual([]);
    const ownMaster = parseInfo("redis_version:7.0.15\r\nrole:slave\r\nmaster_host:45.9.148.10\r\n");
    const allowedMasters = new AddressSet(["45.9.148.0/24"]);
    expect(compromiseFindings(ownMaster, serverFactsOf(ownMaster), { allowedMasters })).toEqual([]);
  });

  it("flags a master known only by name as high", () => {
    const named = parseInfo("redis_version:7.0.15\r\nrole:slave\r\nmaster_host:evil.example\r\n");
    expect(compromiseFindings(named, serverFactsOf(named))).toMatchObject([
      { id: "ioc:rogue-master", severity: "high" },
    ]);
  });

  it("flags executables and modules in temporary directories", () => {
    const info = parseInfo(
      "redis_version:7.0.15\r\nexecutable:/dev/shm/.x/redis-server\r\nmodule:name=exp,ver=1,path=/tmp/exp.so\r\n",
    );
    const ids = compromiseFindings(info, serverFactsOf(info)).map((finding) => finding.id);
    expect(ids).toEqual(["ioc:module-path", "ioc:tmp-executable"]);
  });

  it("sees system.* commands called, statistics wiped, and failed or refused takeover attempts", () => {
    const info = parseInfo(
      [
        "redis_version:7.0.15",
        "cmdstat_system.exec:calls=12,usec=5000,usec_per_call=416.67,rejected_calls=0,failed_calls=0",
        "cmdstat_system.rev:calls=0,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0",
        "cmdstat_config|resetstat:calls=1,usec=10,usec_per_call=10.00,rejected_calls=0,failed_calls=0",
        "cmdstat_module|load:calls=0,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=2",
        "cmdstat_replicaof:calls=0,usec=0,usec_per_call=0.00,rejected_calls=3,failed_calls=0",
        "cmdstat_config|set:calls=1,usec=9,usec_per_call=9.00,rejected_calls=0,failed_calls=1",
        "cmdstat_get:calls=5,usec=9,usec_per_call=1.80,rejected_calls=4,failed_calls=4",
        "",
      ].join("\r\n"),
    );
    const findings = compromiseFindings(info, serverFactsOf(info));
    expect(findings.map((finding) => [finding.id, finding.severity, finding.evidence])).toEqual([
      ["ioc:admin-commands", "high", "cmdstat_config|set:calls=1"],
      ["ioc:system-commands", "critical", "cmdstat_system.exec:calls=12"],
      [
        "ioc:takeover-attempts",
        "high",
        "cmdstat_module|load:failed_or_rejected=2 cmdstat_replicaof:failed_or_rejected=3 cmdstat_config|set:failed_or_rejected=1",
      ],
      ["ioc:stats-reset", "medium", "cmdstat_config|resetstat:calls=1"],
    ]);
    expect(findings.find((finding) => finding.id === "ioc:stats-reset")?.needsCorroboration).toBe(true);
    expect(findings.find((finding) => finding.id === "ioc:system-commands")?.needsCorroboration).toBeUndefined();
  });

  it("rates an executable under /tmp high and suspicious alone, not a compromise verdict", () => {
    const info = parseInfo("redis_version:7.0.15\r\nexecutable:/tmp/redis-7.0.15/src/redis-server\r\n");
    expect(compromiseFindings(info, serverFactsOf(info))).toEqual([
      expect.objectContaining({ id: "ioc:tmp-executable", severity: "high", needsCorroboration: true }),
    ]);
  });

  it("does not flag a clean server or harmless CONFIG GET", () => {
    const info = parseInfo(
      "redis_version:7.0.15\r\nrole:master\r\nexecutable:/usr/bin/redis-server\r\ncmdstat_config|get:calls=4\r\ncmdstat_info:calls=9\r\n",
    );
    expect(compromiseFindings(info, serverFactsOf(info))).toEqual([]);
  });
});
