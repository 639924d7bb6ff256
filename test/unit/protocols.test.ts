// The protocol registries: every protocol the probe speaks has its words registered, and alerts and reports
// take those words by the endpoint's protocol name (docs/architecture.md, "Protocol modules").
import { describe, expect, it } from "vitest";
import { alertsFromEvent } from "../../shared/alerts/alert.ts";
import { describeServer, emailBody, headline } from "../../shared/alerts/render.ts";
import { PROTOCOLS } from "../../shared/probe/protocols.ts";
import { PROTOCOL_TEXTS, protocolText } from "../../shared/protocols/registry.ts";
import { toAsff } from "../../shared/report/asff.ts";
import { alertOf, REDIS_7_2_4, stateChangeEvent } from "./alerts-fixtures.ts";

describe("protocol registries", () => {
  it("register words for every protocol the probe speaks, under the same names", () => {
    expect([...PROTOCOL_TEXTS.keys()].sort()).toEqual([...PROTOCOLS.keys()].sort());
    for (const [name, text] of PROTOCOL_TEXTS) expect(text.name).toBe(name);
  });

  it("give alerts the endpoint's protocol's words", () => {
    const alert = alertOf("newly-unauthenticated");
    expect(headline(alert)).toBe("Redis open without authentication");
    expect(describeServer(REDIS_7_2_4)).toBe("Redis 7.2.4 standalone master");
    expect(headline(alertOf("resolved"))).toBe("No longer reachable from the internet");
  });

  it("give a protocol this version has no words for plain ones, never another protocol's advice", () => {
    const event = stateChangeEvent({ state: "open-unauthenticated" });
    event.current = { ...event.current, protocol: { name: "memcached", product: "memcached", version: "1.6.21" } };
    const [alert] = alertsFromEvent(event);
    expect(headline(alert!)).toBe("Open without authentication");
    expect(describeServer(alert!.current.protocol)).toBe("memcached 1.6.21");
    expect(alert!.remediation.join("\n")).not.toMatch(/redis|requirepass|ACL/i);
    expect(alert!.remediation.length).toBeGreaterThan(0);
    expect(emailBody(alert!)).toContain("memcached 1.6.21");
    expect(protocolText("memcached").exposureTitle("reachable")).toBe("memcached port reachable from the internet");
    const asff = toAsff(
      {
        ...event.current,
        endpoint: event.endpoint,
        ip: event.ip,
        port: event.port,
        findings: [],
        asset: null,
        since: event.at,
        firstSeenAt: event.at,
        lastObservedAt: event.at,
      },
      { region: "eu-west-1", securityHubAccountId: "111122223333" },
    );
    expect(asff.Title).toBe("memcached at 203.0.113.10:6379 answers without authentication from the internet");
    expect(asff.GeneratorId).toBe("exposure-monitor/memcached-external-exposure");
    expect(asff.Id).toContain(":exposure-monitor/memcached/203.0.113.10:6379");
  });
});
