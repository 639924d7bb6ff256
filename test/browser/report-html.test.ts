// The HTML report in a real browser: Debian's chromium, headless, driven by playwright-core.
// It must load from file:// with no console or page errors, fetch nothing else, run nothing from the
// data, and show the chart and the three tables with the report's row counts.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHtml } from "../../shared/report/render/html.ts";
import { buildReport } from "../../shared/report/report.ts";
import type { AuditReport } from "../../shared/report/types.ts";
import { event, fixtureInput, OWNER_A } from "../unit/report-fixture.ts";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const HOSTILE_NAME = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;

function hostileReport(): AuditReport {
  const input = fixtureInput();
  const hostile = event({
    endpoint: "203.0.113.66:6379",
    at: "2026-03-01T03:00Z",
    state: "open-unauthenticated",
    previous: null,
    alerts: ["newly-unauthenticated"],
    asset: { ...OWNER_A, resourceId: "i-0666", name: HOSTILE_NAME },
  });
  return buildReport({ ...input, events: [...input.events, hostile] });
}

describe("HTML report in headless Chromium", () => {
  let dir: string;
  let context: BrowserContext;
  const report = hostileReport();

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      // No skipping: this machine (and CI) must have Debian's chromium package.
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`);
    }
    dir = await mkdtemp(join(tmpdir(), "report-html-"));
    await writeFile(join(dir, "report.html"), renderHtml(report));
    context = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      timeout: 60_000,
    });
  });

  afterAll(async () => {
    await context?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("loads with no errors, no other request, and shows the chart and the tables", async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    const dialogs: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    context.on("request", (request) => requests.push(request.url()));

    const url = pathToFileURL(join(dir, "report.html")).href;
    const response = await page.goto(url, { waitUntil: "load", timeout: 30_000 });
    expect(response?.ok() ?? true).toBe(true);

    expect(await page.title()).toBe(`Redis exposure report ${report.period.from} to ${report.period.to}`);
    const chart = page.locator("svg#timeline-chart");
    expect(await chart.count()).toBe(1);
    const box = await chart.boundingBox();
    expect(box?.width).toBeGreaterThan(300);
    expect(box?.height).toBeGreaterThan(50);
    expect(await chart.locator("path.line").count()).toBe(1);
    expect(await chart.locator("path.line").getAttribute("d")).toMatch(/^M[\d.]+ [\d.]+( [HV][\d.]+)+$/);

    expect(await page.locator("#windows-table tbody tr").count()).toBe(report.windows.length);
    expect(await page.locator("#findings-table tbody tr").count()).toBe(report.openFindings.length);
    expect(await page.locator("#scans-table tbody tr").count()).toBe(report.coverage.scans.length);
    expect(report.windows.length).toBe(8);
    expect(await page.locator("#summary dt").first().textContent()).toBe("Period");

    // The hostile owner name is text on the page, not markup that ran.
    expect(await page.locator("script, img, iframe, object, embed").count()).toBe(0);
    expect(await page.evaluate("globalThis.__pwned ?? 0")).toBe(0);
    expect(await page.locator("#windows-table").textContent()).toContain(HOSTILE_NAME);

    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
    expect(requests).toEqual([url]);
  });
});
