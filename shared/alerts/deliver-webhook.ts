// Alerts POSTed to a webhook, by default as a Slack incoming-webhook body `{text, blocks}`.
// Each attempt has a deadline (connect, headers and body together) and reads at most a few KiB
// of the reply. Network errors, timeouts, 408, 429 and 5xx are retried with backoff (Retry-After
// honoured); other statuses are refusals that retrying cannot fix. The URL is a secret for
// Slack, so errors and the channel name show only its origin.
import { createHash } from "node:crypto";
import type { Alert } from "./alert.ts";
import type { AlertDeliverer } from "./deliver.ts";
import { alertJson } from "./render.ts";
import { DEFAULT_RETRY, DeliveryError, isTransientNetworkError, type RetryPolicy, withRetries } from "./retry.ts";
import { slackMessage } from "./slack.ts";

export interface WebhookDelivererOptions {
  url: string;
  /** "slack": `{text, blocks}` (default); "alert": the alert JSON itself. */
  format?: "slack" | "alert";
  /** Deadline of one attempt. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** At most this much of a reply is read (it only goes into error messages). */
  maxResponseBytes?: number;
}

export function webhookBody(alert: Alert, format: "slack" | "alert" = "slack"): string {
  return format === "slack" ? JSON.stringify(slackMessage(alert)) : alertJson(alert);
}

/** Seconds or an HTTP date, as milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export class WebhookDeliverer implements AlertDeliverer {
  readonly name: string;
  readonly #url: URL;
  readonly #format: "slack" | "alert";
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #maxResponseBytes: number;

  constructor(options: WebhookDelivererOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new Error("webhook URL is not a valid URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("webhook URL must be http or https");
    this.#url = url;
    this.#format = options.format ?? "slack";
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#maxResponseBytes = options.maxResponseBytes ?? 4096;
    // Distinct URLs are distinct channels in the ledger, without writing the secret path down.
    const digest = createHash("sha256").update(url.href).digest("hex").slice(0, 12);
    this.name = `webhook:${url.origin}#${digest}`;
  }

  async deliver(alert: Alert, budget?: AbortSignal): Promise<void> {
    const body = webhookBody(alert, this.#format);
    await withRetries(this.#retry, () => this.#attempt(alert.id, body, budget), budget);
  }

  async #attempt(alertId: string, body: string, budget: AbortSignal | undefined): Promise<void> {
    const where = `webhook ${this.#url.origin}`;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = budget ? AbortSignal.any([timeout, budget]) : timeout;
    let status: number;
    let retryAfter: string | null;
    let reply: string;
    try {
      const response = await fetch(this.#url, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", "x-exposure-alert-id": alertId },
        body,
        redirect: "manual",
        signal,
      });
      status = response.status;
      retryAfter = response.headers.get("retry-after");
      reply = await readCapped(response, this.#maxResponseBytes);
    } catch (error) {
      if (signal.aborted) {
        throw new DeliveryError(`${where}: no complete reply within ${this.#timeoutMs} ms`, {
          retryable: true,
          cause: error,
        });
      }
      // fetch reports every network failure as TypeError("fetch failed") with the socket error as cause.
      const retryable = isTransientNetworkError(error) || (error instanceof TypeError && error.cause !== undefined);
      const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : "";
      throw new DeliveryError(`${where}: ${reason || "request failed"}`, { retryable, cause: error });
    }
    if (status >= 200 && status < 300) return;
    const detail = reply
      .replace(/[^\x20-\x7e]+/g, " ")
      .trim()
      .slice(0, 200);
    const message = `${where}: HTTP ${status}${detail ? ` ${detail}` : ""}`;
    const retryable = status === 408 || status === 429 || status >= 500;
    throw new DeliveryError(message, {
      retryable,
      retryAfterMs: retryable ? parseRetryAfter(retryAfter) : undefined,
    });
  }
}

/** Reads at most `max` bytes of a reply body, then drops the rest. */
async function readCapped(response: Response, max: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString("utf8");
}
