import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertCell } from "../../cli/alert-cell.ts";
import { alertId, alertsFromEvent } from "../../shared/alerts/alert.ts";
import { consoleLines, emailBody, emailSubject } from "../../shared/alerts/render.ts";
import { type SlackBlock, type SlackMessage, slackMessage } from "../../shared/alerts/slack.ts";
import type { Finding, ProbeState } from "../../shared/exposure/model.ts";
import { redisFacts } from "../../shared/probe/redis/facts.ts";
import { compromiseFindings, cveFindings } from "../../shared/probe/redis/findings.ts";
import { remediationFor } from "../../shared/remediation/remediation.ts";
import { alertOf, REDIS_7_2_4, REDIS_7_2_4_INFO, stateChangeEvent, WEB_1 } from "./alerts-fixtures.ts";

const ROGUE_MASTER: Finding = {
  id: "ioc:rogue-master",
  kind: "compromise",
  severity: "critical",
  title: "Replica of a public master outside the organization (rogue-master technique)",
  evidence: "master_host:198.51.100.66",
};

describe("alertsFromEvent", () => {
  it("builds one alert per kind with the issue's fields, the owner and the observation times", () => {
    const event = stateChangeEvent({ alerts: ["newly-unauthenticated"] });
    const [alert, ...rest] = alertsFromEvent(event);
    expect(rest).toEqual([]);
    expect(Object.keys(alert!)).toEqual([
      "id",
      "kind",
      "severity",
      "endpoint",
      "previous",
      "current",
      "findings",
      "asset",
      "observedAt",
      "firstSeenAt",
      "remediation",
    ]);
    expect(alert).toMatchObject({
      kind: "newly-unauthenticated",
      severity: "critical",
      endpoint: "203.0.113.10:6379",
      previous: { state: "auth-required", exposure: "reachable" },
      current: { state: "open-unauthenticated", exposure: "unauthenticated", tls: false, protocol: REDIS_7_2_4 },
      asset: {
        account: "111122223333",
        region: "eu-west-1",
        resourceType: "ec2-instance",
        resourceId: "i-0abc1234def567890",
        name: "web-1",
      },
      observedAt: event.at,
      firstSeenAt: event.firstSeenAt,
    });
    expect(alert!.remediation.length).toBeGreaterThan(2);
  });

  it("derives the id from the event id and kind: a redelivered event gives the same ids, kinds differ", () => {
    const event = stateChangeEvent({ alerts: ["newly-unauthenticated", "new-finding"], newFindings: [ROGUE_MASTER] });
    const first = alertsFromEvent(event).map((alert) => alert.id);
    const again = alertsFromEvent(structuredClone(event)).map((alert) => alert.id);
    expect(again).toEqual(first);
    expect(new Set(first).size).toBe(2);
    expect(first[0]).toBe(alertId(event.eventId, "newly-unauthenticated"));
    const other = alertsFromEvent({ ...event, eventId: `${event.eventId}x` }).map((alert) => alert.id);
    expect(other.some((id) => first.includes(id))).toBe(false);
  });

  it("raises nothing for an event without alert kinds, and each kind once", () => {
    expect(alertsFromEvent(stateChangeEvent({ alerts: [] }))).toEqual([]);
    expect(alertsFromEvent(stateChangeEvent({ alerts: ["resolved", "resolved"] }))).toHaveLength(1);
  });

  it("sets the severity by kind, and for new findings by the worst new finding", () => {
    expect(alertOf("newly-unauthenticated").severity).toBe("critical");
    expect(alertOf("newly-internet-facing", { state: "auth-required" }).severity).toBe("high");
    expect(
      alertOf("resolved", { state: "closed", previous: { state: "auth-required", exposure: "reachable" } }).severity,
    ).toBe("info");
    const rediShell = cveFindings(REDIS_7_2_4_INFO).filter((finding) => finding.id === "CVE-2025-49844");
    const high = cveFindings(REDIS_7_2_4_INFO).filter((finding) => finding.severity === "high");
    expect(rediShell).toHaveLength(1);
    expect(alertOf("new-finding", { newFindings: rediShell, findings: [...rediShell, ...high] }).severity).toBe(
      "critical",
    );
    expect(alertOf("new-finding", { newFindings: high.slice(0, 1), findings: high }).severity).toBe("high");
  });

  it("lists only the new findings in a new-finding alert, all findings in the others", () => {
    const all = cveFindings(REDIS_7_2_4_INFO);
    const event = stateChangeEvent({
      alerts: ["newly-unauthenticated", "new-finding"],
      findings: [...all, ROGUE_MASTER],
      newFindings: [ROGUE_MASTER],
    });
    const [unauthenticated, finding] = alertsFromEvent(event);
    expect(unauthenticated!.findings).toHaveLength(all.length + 1);
    expect(finding!.findings).toEqual([ROGUE_MASTER]);
    expect(finding!.severity).toBe("critical");
  });

  it("has a null asset when the owner is unknown", () => {
    expect(alertOf("newly-unauthenticated", { asset: null }).asset).toBeNull();
    expect(alertOf("newly-unauthenticated", { asset: { ...WEB_1, name: undefined } }).asset!.name).toBeNull();
  });
});

describe("the ALERT cell of the scan and history tables", () => {
  it("names the one notification a change made, then the rules that went out inside it", () => {
    const both = stateChangeEvent({ alerts: ["newly-unauthenticated", "new-finding"], newFindings: [ROGUE_MASTER] });
    expect(alertCell(both)).toBe("newly-unauthenticated (+new-finding)");
    expect(alertCell(stateChangeEvent({ alerts: ["newly-unauthenticated"] }))).toBe("newly-unauthenticated");
    expect(alertCell(stateChangeEvent({ alerts: [] }))).toBe("-");
  });
});

describe("remediation", () => {
  const input = (state: ProbeState, overrides: Partial<Parameters<typeof remediationFor>[0]> = {}) => {
    const alert = alertOf(state === "closed" ? "resolved" : "newly-internet-facing", { state, asset: null });
    return remediationFor({
      kind: alert.kind,
      port: 6379,
      previous: alert.previous,
      current: alert.current,
      findings: [],
      asset: null,
      ...overrides,
    });
  };
  const text = (lines: string[]) => lines.join("\n");

  it("open without auth: network restriction first, then ACL users or requirepass, protected mode, bind, data check", () => {
    const lines = input("open-unauthenticated");
    expect(lines[0]).toMatch(/Restrict the firewall or security group .* TCP 6379/);
    expect(text(lines)).toContain("user default off");
    expect(text(lines)).toContain("requirepass");
    expect(text(lines)).toContain("protected-mode yes");
    expect(text(lines)).toContain("bind 127.0.0.1");
    expect(text(lines)).toMatch(/rotate secrets/);
    expect(text(lines)).not.toContain("TLS alone");
  });

  it("open without auth behind TLS: says TLS is not authentication and offers client certificates", () => {
    const alert = alertOf("newly-unauthenticated");
    const lines = remediationFor({ ...alert, port: 6379, current: { ...alert.current, tls: true } });
    expect(text(lines)).toContain("TLS alone is not authentication");
    expect(text(lines)).toContain("tls-auth-clients yes");
  });

  it("protected mode: warns that one config change opens it and asks for a password now", () => {
    const lines = text(input("protected-mode"));
    expect(lines).toMatch(/Only protected mode stands between/);
    expect(lines).toContain("requirepass");
    expect(lines).toContain("bind 127.0.0.1");
  });

  it("auth required: TLS advice only when TLS is off", () => {
    expect(text(input("auth-required"))).toContain("Enable TLS");
    const alert = alertOf("newly-internet-facing", { state: "auth-required" });
    const withTls = remediationFor({ ...alert, port: 6379, current: { ...alert.current, tls: true } });
    expect(text(withTls)).not.toContain("Enable TLS");
    expect(text(withTls)).toContain("Authentication and TLS are on");
  });

  it("busy, error, dropped and not-redis each get their own advice; bind only where Redis answered", () => {
    expect(text(input("busy"))).toContain("maxclients");
    expect(text(input("error"))).toContain("answered with an error");
    expect(text(input("dropped"))).toContain("nothing answers");
    expect(text(input("dropped"))).not.toContain("bind 127.0.0.1");
    expect(text(input("not-redis"))).toContain("Something other than Redis answers on TCP 6379");
    expect(text(input("not-redis"))).not.toContain("bind 127.0.0.1");
    const loading = alertOf("newly-internet-facing", { state: "busy" });
    const lines = remediationFor({
      ...loading,
      port: 6379,
      current: { ...loading.current, protocol: { ...REDIS_7_2_4, loading: true } },
    });
    expect(text(lines)).toContain("loading its dataset");
  });

  it("resolved: no network action; a check for tampering when it had been open", () => {
    const closedAfterAuth = input("closed", { previous: { state: "auth-required", exposure: "reachable" } });
    expect(text(closedAfterAuth)).toContain("no longer answers");
    expect(text(closedAfterAuth)).not.toMatch(/Restrict|tampering/);
    const closedAfterOpen = input("closed", {
      previous: { state: "open-unauthenticated", exposure: "unauthenticated" },
    });
    expect(text(closedAfterOpen)).toContain("tampering");
  });

  it("names the owning resource when the inventory knows it", () => {
    const alert = alertOf("newly-unauthenticated");
    expect(alert.remediation[0]).toBe(
      'Restrict the security groups of EC2 instance i-0abc1234def567890 ("web-1") in account 111122223333/eu-west-1 to known client addresses on TCP 6379; if nothing outside the VPC needs it, remove the inbound rule or the public IP.',
    );
    const eni = alertOf("newly-unauthenticated", {
      asset: { ...WEB_1, resourceType: "network-interface", resourceId: "eni-0123456789abcdef0", name: undefined },
    });
    expect(eni.remediation[0]).toContain("security groups of network interface eni-0123456789abcdef0 in account");
    const lightsail = alertOf("newly-unauthenticated", {
      asset: { ...WEB_1, resourceType: "lightsail-instance", resourceId: "cache-box", name: "cache-box" },
    });
    expect(lightsail.remediation[0]).toContain("networking firewall of Lightsail instance cache-box");
  });

  it("CVEs: one upgrade line to the highest fixed release of the line, naming every CVE", () => {
    const findings = cveFindings(REDIS_7_2_4_INFO);
    expect(findings.length).toBeGreaterThan(2);
    const alert = alertOf("newly-unauthenticated", { findings });
    const upgrade = alert.remediation.filter((line) => line.startsWith("Upgrade"));
    expect(upgrade).toHaveLength(1);
    expect(upgrade[0]).toMatch(/^Upgrade Redis 7\.2\.4 to 7\.2\.14 or later \(fixes CVE-/);
    for (const finding of findings) expect(upgrade[0]).toContain(finding.id);
    const noFix = alertOf("newly-unauthenticated", {
      findings: [
        { id: "CVE-2099-0001", kind: "cve", severity: "critical", title: "x", evidence: "redis_version:7.2.4" },
      ],
    });
    expect(text(noFix.remediation)).toContain("No fixed release in the 7.2 line is known for CVE-2099-0001");
  });

  it("compromise: treat as compromised first, then advice for each indicator", () => {
    const server = {
      ...REDIS_7_2_4_INFO,
      role: "replica" as const,
      masterHost: "198.51.100.66",
      masterPort: 8888,
      executable: "/tmp/redis-server",
      modules: [
        { name: "system", path: "/var/lib/redis/exp.so" },
        { name: "rev", path: "/dev/shm/rev.so" },
      ],
    };
    const info = {
      commandCalls: new Map([["module|load", 1]]),
      commandFailures: new Map(),
    } as Parameters<typeof compromiseFindings>[0];
    const iocs = compromiseFindings(info, server);
    expect(iocs.map((finding) => finding.id).sort()).toEqual(
      ["ioc:admin-commands", "ioc:module-path", "ioc:rogue-master", "ioc:system-module", "ioc:tmp-executable"].sort(),
    );
    const alert = alertOf("new-finding", {
      current: { state: "open-unauthenticated", exposure: "unauthenticated", tls: false, protocol: redisFacts(server) },
      findings: iocs,
      newFindings: iocs,
    });
    expect(alert.remediation[0]).toMatch(/^Treat the host as compromised: isolate/);
    const all = text(alert.remediation);
    expect(all).toContain("198.51.100.66:8888");
    expect(all).toContain("REPLICAOF NO ONE");
    expect(all).toContain("Unknown modules are loaded (system, rev)");
    expect(all).toContain("(/tmp/redis-server)");
    expect(all).toContain("CONFIG SET dir");
    expect(new Set(alert.remediation).size).toBe(alert.remediation.length);

    // An executable under /tmp alone is suspicious (a stock server started there shows it too), not a verdict.
    const tmpOnly = iocs.filter((finding) => finding.id === "ioc:tmp-executable");
    expect(tmpOnly[0]?.needsCorroboration).toBe(true);
    const suspicious = alertOf("new-finding", {
      current: { state: "open-unauthenticated", exposure: "unauthenticated", tls: false, protocol: redisFacts(server) },
      findings: tmpOnly,
      newFindings: tmpOnly,
    });
    expect(text(suspicious.remediation)).not.toContain("Treat the host as compromised");
    expect(text(suspicious.remediation)).toContain("(/tmp/redis-server)");
  });
});

describe("email and console rendering", () => {
  it("subject: severity, kind, target and owner, within SNS's rules", () => {
    const subject = emailSubject(alertOf("newly-unauthenticated"));
    expect(subject).toBe(
      "[CRITICAL] newly-unauthenticated 203.0.113.10:6379 - 111122223333 i-0abc1234def567890 (web-1)",
    );
    expect(subject.length).toBeLessThan(100);
  });

  it("subject stays ASCII, one line and under 100 characters with hostile or long names and IPv6", () => {
    const alert = alertOf("newly-internet-facing", {
      state: "auth-required",
      endpoint: "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
      asset: { ...WEB_1, name: "prod cache ✓\nSubject: injected \u0007 with a very long name that goes on and on" },
    });
    const subject = emailSubject(alert);
    expect(subject.length).toBeLessThan(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject).toContain("[HIGH] newly-internet-facing [2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    expect(subject).toContain("111122223333");
    expect(subject.endsWith("...")).toBe(true);
  });

  it("body: what, where, owner, since, findings and numbered steps", () => {
    const findings = cveFindings(REDIS_7_2_4_INFO).slice(0, 1);
    const body = emailBody(alertOf("newly-unauthenticated", { findings }));
    expect(body.split("\n")[0]).toBe(
      "Redis open without authentication: 203.0.113.10:6379 is open-unauthenticated (was auth-required).",
    );
    expect(body).toContain(
      "What:   open-unauthenticated, exposure unauthenticated, TLS no, Redis 7.2.4 standalone master",
    );
    expect(body).toContain('Owner:  AWS account 111122223333, eu-west-1, ec2-instance i-0abc1234def567890 "web-1"');
    expect(body).toContain("Since:  2026-11-22 03:00:05 UTC (first seen 2026-11-20 10:00:00 UTC)");
    expect(body).toContain(`  - ${findings[0]!.id} (${findings[0]!.severity}):`);
    expect(body).toMatch(/What to do:\n {2}1\. Restrict the security groups/);
    expect(alertOf("newly-unauthenticated", { asset: null, previous: null }).remediation.length).toBeGreaterThan(0);
    const unknown = emailBody(alertOf("newly-unauthenticated", { asset: null, previous: null }));
    expect(unknown).toContain("Owner:  unknown");
    expect(unknown).toContain("(first sighting)");
  });

  it("console: one to three lines, with the first step", () => {
    const plain = consoleLines(alertOf("newly-unauthenticated"));
    expect(plain).toHaveLength(2);
    expect(plain[0]).toBe(
      "2026-11-22 03:00:05 UTC CRITICAL newly-unauthenticated 203.0.113.10:6379 open-unauthenticated (was auth-required) owner 111122223333/eu-west-1 i-0abc1234def567890 (web-1)",
    );
    expect(plain[1]).toMatch(/^ {2}do: Restrict/);
    const withFindings = consoleLines(alertOf("new-finding", { newFindings: [ROGUE_MASTER] }));
    expect(withFindings).toHaveLength(3);
    expect(withFindings[2]).toBe("  findings: ioc:rogue-master (critical)");
  });
});

/** Block Kit limits from Slack's reference, checked independently of the renderer. */
function blockKitViolations(message: SlackMessage): string[] {
  const problems: string[] = [];
  const length = (text: string) => Array.from(text).length;
  if (typeof message.text !== "string" || message.text.length === 0) problems.push("text: missing fallback");
  if (message.blocks.length === 0 || message.blocks.length > 50) problems.push("blocks: 1 to 50");
  const checkText = (where: string, object: { type: string; text: string } | undefined, max: number) => {
    if (!object) return;
    if (object.type !== "plain_text" && object.type !== "mrkdwn") problems.push(`${where}: bad text type`);
    if (length(object.text) < 1 || length(object.text) > max) problems.push(`${where}: length ${length(object.text)}`);
  };
  message.blocks.forEach((block: SlackBlock, index) => {
    const where = `blocks[${index}] ${block.type}`;
    if (block.type === "header") {
      if (block.text.type !== "plain_text") problems.push(`${where}: must be plain_text`);
      checkText(where, block.text, 150);
    } else if (block.type === "section") {
      if (!block.text && !block.fields) problems.push(`${where}: needs text or fields`);
      checkText(where, block.text, 3000);
      if (block.fields && (block.fields.length < 1 || block.fields.length > 10)) problems.push(`${where}: 1-10 fields`);
      block.fields?.forEach((field, i) => {
        checkText(`${where} field ${i}`, field, 2000);
      });
    } else if (block.type === "context") {
      if (block.elements.length < 1 || block.elements.length > 10) problems.push(`${where}: 1-10 elements`);
      block.elements.forEach((element, i) => {
        checkText(`${where} element ${i}`, element, 2000);
      });
    } else if (block.type !== "divider") {
      problems.push(`${where}: unknown block type`);
    }
  });
  return problems;
}

describe("Slack Block Kit", () => {
  it("header, facts as fields, findings, steps and a context line", () => {
    const message = slackMessage(alertOf("newly-unauthenticated", { findings: cveFindings(REDIS_7_2_4_INFO) }));
    expect(blockKitViolations(message)).toEqual([]);
    expect(message.blocks.map((block) => block.type)).toEqual([
      "header",
      "section",
      "section",
      "section",
      "section",
      "context",
    ]);
    const header = message.blocks[0] as Extract<SlackBlock, { type: "header" }>;
    expect(header.text.text).toBe("🔴 CRITICAL: Redis open without authentication");
    const json = JSON.stringify(message);
    for (const expected of [
      "203.0.113.10:6379",
      "111122223333/eu-west-1 i-0abc1234def567890 (web-1)",
      "*What to do*",
      "CVE-2025-49844",
    ]) {
      expect(json).toContain(expected);
    }
    expect(message.text).toContain("[CRITICAL] newly-unauthenticated 203.0.113.10:6379");
  });

  it("stays within the limits and escapes mrkdwn when a hostile server fills every field", () => {
    const hostile = `<!channel> <https://evil.example|click> &${"A".repeat(5000)}`;
    const findings: Finding[] = Array.from({ length: 40 }, (_, i) => ({
      id: `ioc:hostile-${i}`,
      kind: "compromise",
      severity: "critical",
      title: hostile,
      evidence: hostile,
    }));
    const alert = alertOf("new-finding", {
      newFindings: findings,
      findings,
      asset: { ...WEB_1, name: hostile, resourceType: hostile },
      current: {
        state: "open-unauthenticated",
        exposure: "unauthenticated",
        tls: false,
        protocol: { ...REDIS_7_2_4, version: hostile, masterHost: hostile, role: "replica" },
      },
    });
    const message = slackMessage(alert);
    expect(blockKitViolations(message)).toEqual([]);
    const json = JSON.stringify(message);
    expect(json).not.toContain("<!channel>");
    expect(json).not.toContain("<https://evil.example");
    expect(json).toContain("&lt;!channel&gt;");
  });

  it("any server text keeps the subject within SNS's rules and the Slack message within Block Kit's limits", () => {
    const text = fc.string({ unit: "binary", maxLength: 400 });
    fc.assert(
      fc.property(text, text, text, text, (name, version, title, evidence) => {
        const findings: Finding[] = ["ioc:rogue-master", "ioc:system-module", "ioc:tmp-executable"].map((id) => ({
          id,
          kind: "compromise",
          severity: "critical",
          title,
          evidence,
        }));
        findings.push({ id: "CVE-2025-49844", kind: "cve", severity: "critical", title, evidence, fixedIn: "7.2.11" });
        const alert = alertOf("new-finding", {
          newFindings: findings,
          findings,
          asset: { ...WEB_1, name },
          current: {
            state: "open-unauthenticated",
            exposure: "unauthenticated",
            tls: true,
            protocol: {
              ...REDIS_7_2_4,
              version,
              role: "replica",
              masterHost: title,
              executable: evidence,
              modules: [{ name: evidence }],
            },
          },
        });
        const subject = emailSubject(alert);
        expect(subject).toMatch(/^[\x20-\x7e]{1,99}$/);
        expect(subject.startsWith("[CRITICAL] new-finding 203.0.113.10:6379")).toBe(true);
        const message = slackMessage(alert);
        expect(blockKitViolations(message)).toEqual([]);
        for (const block of message.blocks) {
          const texts = block.type === "section" ? [block.text, ...(block.fields ?? [])] : [];
          for (const object of texts) if (object) expect(object.text).not.toContain("<");
        }
        for (const line of [...consoleLines(alert), ...alert.remediation]) {
          expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
          expect(line.length).toBeLessThan(1000);
        }
      }),
      { numRuns: 100 },
    );
  });
});
