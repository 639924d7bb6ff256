import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deliverAll } from "../../shared/alerts/deliver.ts";
import { parseRetryAfter, WebhookDeliverer } from "../../shared/alerts/deliver-webhook.ts";
import { DeliveryError } from "../../shared/alerts/retry.ts";
import { alertOf, deliveryStateIn } from "../unit/alerts-fixtures.ts";
import { type ScriptedServer, startScriptedServer } from "./alerts-http-server.ts";

const FAST_RETRY = { attempts: 4, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 5_000 };
let server: ScriptedServer | undefined;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "alerts-webhook-"));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function failureOf(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
}

describe("webhook deliverer against a real HTTP server", () => {
  it("500, then 429 with Retry-After: 0, then 200: delivered exactly once with a valid Slack body", async () => {
    server = await startScriptedServer([
      { status: 500, body: "internal" },
      { status: 429, headers: { "retry-after": "0" }, body: "rate_limited" },
      { status: 200, body: "ok" },
    ]);
    const alert = alertOf("newly-unauthenticated");
    const webhook = new WebhookDeliverer({ url: server.url, retry: FAST_RETRY, timeoutMs: 10_000 });
    const ledger = deliveryStateIn(dir);

    const report = await deliverAll([alert], [webhook], ledger);
    expect(report.failed).toEqual([]);
    expect(report.delivered).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
    expect(server.successes).toBe(1);

    for (const request of server.requests) {
      expect(request.method).toBe("POST");
      expect(request.url).toBe("/hook");
      expect(request.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(request.headers["x-exposure-alert-id"]).toBe(alert.id);
      expect(request.body).toBe(server.requests[0]!.body);
    }
    const body = JSON.parse(server.requests[0]!.body) as { text: string; blocks: { type: string }[] };
    expect(Object.keys(body).sort()).toEqual(["blocks", "text"]);
    expect(body.text).toContain("[CRITICAL] newly-unauthenticated 203.0.113.10:6379");
    expect(body.blocks[0]!.type).toBe("header");
    expect(body.blocks.at(-1)!.type).toBe("context");

    // A later run (same ledger, new process state) does not post it again.
    const again = await deliverAll(
      [alert],
      [new WebhookDeliverer({ url: server.url, retry: FAST_RETRY })],
      deliveryStateIn(dir),
    );
    expect(again.alreadyDelivered).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
  });

  it("cuts a webhook that never answers at the per-attempt timeout", async () => {
    server = await startScriptedServer(["hang"]);
    const webhook = new WebhookDeliverer({ url: server.url, retry: { ...FAST_RETRY, attempts: 2 }, timeoutMs: 300 });
    const started = Date.now();
    const error = await failureOf(webhook.deliver(alertOf("newly-unauthenticated")));
    const elapsed = Date.now() - started;
    expect(error.message).toMatch(/no complete reply within 300 ms.*gave up after 2 attempts/);
    expect(error.retryable).toBe(true);
    expect(server.requests).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(2 * 300 - 50);
    expect(elapsed).toBeLessThan(10_000);
  });

  it("cuts a reply whose body stalls after the headers", async () => {
    server = await startScriptedServer(["hang-body"]);
    const webhook = new WebhookDeliverer({ url: server.url, retry: { ...FAST_RETRY, attempts: 1 }, timeoutMs: 300 });
    const error = await failureOf(webhook.deliver(alertOf("newly-unauthenticated")));
    expect(error.message).toContain("no complete reply within 300 ms");
    expect(server.requests).toHaveLength(1);
  });

  it("does not retry a 4xx refusal, and never shows the secret URL path", async () => {
    server = await startScriptedServer([{ status: 400, body: "invalid_payload" }], "/services/T000/B000/s3cr3tT0k3n");
    const webhook = new WebhookDeliverer({ url: server.url, retry: FAST_RETRY });
    const error = await failureOf(webhook.deliver(alertOf("newly-unauthenticated")));
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`webhook ${new URL(server.url).origin}: HTTP 400 invalid_payload`);
    expect(server.requests).toHaveLength(1);
    expect(webhook.name).not.toContain("s3cr3t");
    expect(webhook.name).toMatch(/^webhook:http:\/\/127\.0\.0\.1:\d+#[0-9a-f]{12}$/);
  });

  it("leaves a long Retry-After for the next run instead of blocking this one", async () => {
    server = await startScriptedServer([{ status: 429, headers: { "retry-after": "3600" } }]);
    const webhook = new WebhookDeliverer({ url: server.url, retry: FAST_RETRY });
    const error = await failureOf(webhook.deliver(alertOf("newly-unauthenticated")));
    expect(error.message).toMatch(/HTTP 429.*asked to wait 3600s; left for the next run/);
    expect(error.retryable).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it("retries a refused connection, then reports it as retryable", async () => {
    // A port that was just free: bind, note it, close.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const webhook = new WebhookDeliverer({
      url: `http://127.0.0.1:${port}/hook`,
      retry: { ...FAST_RETRY, attempts: 2 },
    });
    const error = await failureOf(webhook.deliver(alertOf("newly-unauthenticated")));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/ECONNREFUSED.*gave up after 2 attempts/);
  });

  it("reads only the start of a huge error reply and keeps the message short", async () => {
    server = await startScriptedServer([{ status: 500, body: `\u001b[31m${"x".repeat(8_000_000)}` }]);
    const webhook = new WebhookDeliverer({ url: server.url, retry: { ...FAST_RETRY, attempts: 1 }, timeoutMs: 10_000 });
    const error = await failureOf(webhook.deliver(alertOf("newly-unauthenticated")));
    expect(error.message).toMatch(/^webhook http:\/\/127\.0\.0\.1:\d+: HTTP 500 \[31mx+ \(gave up after 1 attempt\)$/);
    expect(error.message.length).toBeLessThan(300);
  });

  it("posts the alert JSON itself when asked to", async () => {
    server = await startScriptedServer([{ status: 204 }]);
    const alert = alertOf("resolved", { state: "closed" });
    await new WebhookDeliverer({ url: server.url, format: "alert", retry: FAST_RETRY }).deliver(alert);
    expect(JSON.parse(server.requests[0]!.body)).toEqual(alert);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-11-22T03:00:00Z");
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter("12", now)).toBe(12_000);
    expect(parseRetryAfter("Sun, 22 Nov 2026 03:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Sun, 22 Nov 2026 02:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("rejects a URL that is not http(s)", () => {
    expect(() => new WebhookDeliverer({ url: "file:///etc/passwd" })).toThrow("webhook URL must be http or https");
    expect(() => new WebhookDeliverer({ url: "not a url" })).toThrow("webhook URL is not a valid URL");
  });
});
