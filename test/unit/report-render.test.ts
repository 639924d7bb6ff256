import { describe, expect, it } from "vitest";
import { type Acknowledgement, acknowledgementId } from "../../shared/exposure/acknowledgement.ts";
import type { StateChangeEvent } from "../../shared/exposure/model.ts";
import { manifestFor, renderManifest, sha256Hex, verifyReport } from "../../shared/report/manifest.ts";
import { CSV_COLUMNS, csvField } from "../../shared/report/render/csv.ts";
import { REPORT_FORMATS, renderReport } from "../../shared/report/render/index.ts";
import { buildReport } from "../../shared/report/report.ts";
import { event, fixtureInput, OWNER_A } from "./report-fixture.ts";

/** A minimal RFC 4180 parser, to read back what the renderer wrote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      row.push(field);
      field = "";
    } else if (char === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += char;
  }
  return rows;
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>|**bold**`;

/** The fixture plus an endpoint whose owner name and server version are attacker-controlled markup. */
function hostileInput() {
  const base = fixtureInput();
  const hostile: StateChangeEvent = event({
    endpoint: "203.0.113.66:6379",
    at: "2026-03-01T03:00Z",
    state: "open-unauthenticated",
    previous: null,
    alerts: ["newly-unauthenticated"],
    asset: { ...OWNER_A, resourceId: "i-0666", name: HOSTILE, tags: { Name: HOSTILE } },
  });
  hostile.current.protocol = {
    name: "redis",
    product: "redis",
    version: `7.0.0"><svg onload=alert(2)>`,
    mode: null,
    role: null,
  };
  return { ...base, events: [...base.events, hostile] };
}

describe("CSV", () => {
  const report = buildReport(fixtureInput());
  const rows = parseCsv(renderReport(report, "csv"));

  it("has the documented header and one row per window", () => {
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(1 + report.windows.length);
    const byColumn = rows.slice(1).map((row) => Object.fromEntries(CSV_COLUMNS.map((column, i) => [column, row[i]])));
    expect(byColumn[2]).toMatchObject({
      endpoint: "203.0.113.30:6380",
      level: "reachable",
      states: "auth-required;busy",
      start: "2026-02-27T00:00:00.000Z",
      end: "open",
      started_before_period: "true",
      duration_in_period_seconds: "86400",
      time_to_remediate_seconds: "",
      account_id: "",
    });
    expect(byColumn[3]).toMatchObject({
      endpoint: "203.0.113.10:6379",
      end: "2026-03-01T02:00:00.000Z",
      duration_in_period_seconds: "7200",
      time_to_remediate_seconds: "21600",
      account_id: "111111111111",
      resource_type: "ec2-instance",
      resource_id: "i-0aaa",
      resource_name: "cache-a",
      alerts: "newly-internet-facing;newly-unauthenticated;resolved",
    });
    // A name with a comma and quotes survives the round trip.
    expect(byColumn[6]!.resource_name).toBe('legacy, "worker"');
  });

  it("quotes per RFC 4180 and defuses spreadsheet formulas", () => {
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(csvField("line\nbreak")).toBe('"line\nbreak"');
    expect(csvField("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvField("-1+2")).toBe("'-1+2");
    expect(csvField(42)).toBe("42");
    expect(csvField(null)).toBe("");
  });
});

describe("acknowledgements, for the auditor", () => {
  const ack = (endpoint: string, createdAt: string, until: string, extra: Partial<Acknowledgement> = {}) => ({
    id: acknowledgementId(endpoint, createdAt),
    endpoint,
    reason: "honeypot of the red team",
    author: "alice",
    createdAt,
    until,
    revokedAt: null,
    revokedBy: null,
    expiryAlertedAt: null,
    ...extra,
  });
  const straddling = ack("198.51.100.7:6379", "2026-02-20T00:00:00.000Z", "2026-03-01T06:00:00.000Z", {
    expiryAlertedAt: "2026-03-01T06:10:00.000Z",
  });
  // A reason a spreadsheet would run as a formula, with a comma and quotes; on an IPv6 endpoint.
  const revoked = ack("[2001:db8::7]:6379", "2026-03-01T10:00:00.000Z", "2026-04-01T00:00:00.000Z", {
    reason: '=HYPERLINK("x"), says "bob"',
    author: "bob",
    revokedAt: "2026-03-01T12:00:00.000Z",
    revokedBy: "carol",
  });
  const outside = ack("203.0.113.10:6379", "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z");
  const report = buildReport(fixtureInput({ acknowledgements: [outside, revoked, straddling] }));

  it("every format lists every acknowledgement in force during the period, and no other", () => {
    expect(report.acknowledgements.map((a) => a.id)).toEqual([straddling.id, revoked.id]);
    for (const format of REPORT_FORMATS) {
      const text = renderReport(report, format);
      for (const listed of [straddling, revoked]) {
        expect(text, `${format}: ${listed.endpoint}`).toContain(listed.createdAt);
        expect(text, `${format}: ${listed.endpoint}`).toContain(listed.until);
      }
      expect(text, format).not.toContain(outside.createdAt);
      expect(text, format).toContain("alice");
      expect(text, format).toContain("carol");
    }
  });

  it("CSV: one row per acknowledgement after the windows, its fields in the ack_ columns", () => {
    const rows = parseCsv(renderReport(report, "csv"));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(1 + report.windows.length + 2);
    const byColumn = rows.slice(1).map((row) => Object.fromEntries(CSV_COLUMNS.map((column, i) => [column, row[i]])));
    expect(byColumn.slice(0, report.windows.length).every((row) => row.record === "window" && row.ack_id === "")).toBe(
      true,
    );
    const acks = byColumn.slice(report.windows.length);
    expect(acks[0]).toEqual({
      ...Object.fromEntries(CSV_COLUMNS.map((column) => [column, ""])),
      endpoint: "198.51.100.7:6379",
      ip: "198.51.100.7",
      port: "6379",
      record: "acknowledgement",
      ack_id: straddling.id,
      ack_from: straddling.createdAt,
      ack_until: straddling.until,
      ack_by: "alice",
      ack_reason: "honeypot of the red team",
      ack_expiry_alerted_at: "2026-03-01T06:10:00.000Z",
    });
    expect(acks[1]).toMatchObject({
      endpoint: "[2001:db8::7]:6379",
      ip: "2001:db8::7",
      port: "6379",
      record: "acknowledgement",
      ack_revoked_at: "2026-03-01T12:00:00.000Z",
      ack_revoked_by: "carol",
      ack_by: "bob",
      ack_reason: `'=HYPERLINK("x"), says "bob"`,
      ack_expiry_alerted_at: "",
    });
  });
});

describe("JSON", () => {
  it("is byte-identical for the same history in any order", () => {
    const input = fixtureInput();
    const first = renderReport(buildReport(input), "json");
    for (const seed of [1, 2, 3]) {
      const again = renderReport(
        buildReport({ ...input, events: shuffled(input.events, seed), scans: shuffled(input.scans, seed) }),
        "json",
      );
      expect(again).toBe(first);
    }
  });

  it("sorts keys at every level and parses back to the report", () => {
    const report = buildReport(fixtureInput());
    const text = renderReport(report, "json");
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(report)));
    const keys = Object.keys(JSON.parse(text));
    expect(keys).toEqual([...keys].sort());
    expect(Object.keys(JSON.parse(text).summary.timeToRemediate)).toEqual(["closedWindows", "medianMs", "p90Ms"]);
  });
});

describe("HTML and Markdown escape everything from the history", () => {
  const report = buildReport(hostileInput());

  it("HTML carries no markup from the data, no script and no external reference", () => {
    const html = renderReport(report, "html");
    expect(html).not.toMatch(/<script|<img|<svg onload/i);
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;");
    // The only elements are the template's own: every tag name is one the renderer writes.
    const tags = new Set([...html.matchAll(/<([a-z][a-z0-9]*)/gi)].map((m) => m[1]!.toLowerCase()));
    expect([...tags].sort()).toEqual(
      [
        "body",
        "code",
        "dd",
        "details",
        "dl",
        "dt",
        "footer",
        "h1",
        "h2",
        "head",
        "html",
        "line",
        "meta",
        "p",
        "path",
        "rect",
        "section",
        "style",
        "summary",
        "svg",
        "table",
        "tbody",
        "td",
        "text",
        "th",
        "thead",
        "title",
        "tr",
      ].sort(),
    );
    expect(html).not.toMatch(/(src|href)=["']?(https?:|\/\/)/i);
    expect(html).toContain("default-src 'none'");
    expect(html.match(/<tr class="/g)?.length).toBe(
      report.windows.length + report.openFindings.length + report.coverage.scans.length,
    );
  });

  it("Markdown escapes table separators and inline HTML", () => {
    const md = renderReport(report, "md");
    expect(md).not.toContain("<script");
    expect(md).toContain("&lt;script&gt;");
    const windowRows = md.split("\n").filter((line) => line.startsWith("| 203.0.113.66:6379"));
    expect(windowRows.length).toBeGreaterThan(0);
    // 8 columns -> 9 unescaped pipes, whatever the owner name holds
    for (const line of windowRows) expect(line.match(/(?<!\\)\|/g)?.length).toBe(line.includes("exposure:") ? 7 : 9);
  });
});

describe("manifest and verify", () => {
  const report = buildReport(fixtureInput());

  it("holds the SHA-256 of the exact bytes, the period, the table and the time", () => {
    for (const format of REPORT_FORMATS) {
      const bytes = renderReport(report, format);
      const manifest = manifestFor(report, format, `/tmp/x/report.${format}`, bytes);
      expect(manifest).toEqual({
        reportSha256: sha256Hex(bytes),
        period: report.period,
        table: "exposure-monitor-test",
        generatedAt: report.generatedAt,
        format,
        file: `report.${format}`,
      });
      const result = verifyReport(Buffer.from(bytes), `report.${format}`, renderManifest(manifest));
      expect(result.ok).toBe(true);
      expect(result.message).toMatch(/^OK: /);
    }
  });

  it("reports one changed byte as a mismatch, on one line", () => {
    const bytes = Buffer.from(renderReport(report, "csv"));
    const manifest = renderManifest(manifestFor(report, "csv", "r.csv", bytes.toString()));
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 1;
    const result = verifyReport(bytes, "r.csv", manifest);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^MISMATCH: r\.csv has sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}$/);
    expect(verifyReport(bytes, "r.csv", "{not json").ok).toBe(false);
    expect(verifyReport(bytes, "r.csv", '{"reportSha256":"abc"}').message).toMatch(/no valid reportSha256/);
  });
});
