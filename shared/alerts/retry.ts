// Retries inside one delivery run: exponential backoff with full jitter, a server's Retry-After
// honoured when it is not absurdly long, and no retry once the caller's budget is spent. What still
// fails after the last attempt is tried again later (notify.ts), so giving up here loses nothing.
import { setTimeout as sleep } from "node:timers/promises";

export interface RetryPolicy {
  /** Attempts per run, including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this ends this run's attempts instead of blocking the run. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 30_000 };

/** A failed delivery attempt; `retryable` says whether trying again can help. */
export class DeliveryError extends Error {
  override name = "DeliveryError";
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { retryable: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Full jitter: a random delay in [0, min(max, base * 2^(retry-1))]. `retry` counts from 1. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `operation` until it succeeds, throws a non-retryable error, or the attempts are spent.
 * Only DeliveryErrors marked retryable are retried; anything else is a bug or a permanent refusal.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  operation: (attempt: number) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!(error instanceof DeliveryError) || !error.retryable) throw error;
      if (signal?.aborted) {
        throw new DeliveryError(`${error.message} (the delivery budget was spent)`, { retryable: true, cause: error });
      }
      if (attempt >= policy.attempts) {
        throw new DeliveryError(`${error.message} (gave up after ${attempt} attempt${attempt === 1 ? "" : "s"})`, {
          retryable: true,
          cause: error,
        });
      }
      const wait = error.retryAfterMs ?? backoffDelay(policy, attempt);
      if (wait > policy.maxRetryAfterMs) {
        throw new DeliveryError(`${error.message} (asked to wait ${Math.round(wait / 1000)}s; left for the next run)`, {
          retryable: true,
          cause: error,
        });
      }
      await sleep(wait, undefined, signal ? { signal } : {}).catch(() => undefined);
    }
  }
}

/** Network-level failures where the request may not have arrived: worth another attempt. */
const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** The error code of an error or of its cause (fetch wraps socket errors in a TypeError). */
export function networkErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isTransientNetworkError(error: unknown): boolean {
  const code = networkErrorCode(error);
  return code !== undefined && TRANSIENT_NETWORK_CODES.has(code);
}

interface AwsErrorShape {
  name?: string;
  $fault?: "client" | "server";
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

/** Turns an AWS SDK v3 error into a DeliveryError: throttling, server faults and network errors retry. */
export function awsDeliveryError(service: string, error: unknown): DeliveryError {
  const aws = (error ?? {}) as AwsErrorShape;
  const name = typeof aws.name === "string" ? aws.name : "Error";
  const status = aws.$metadata?.httpStatusCode;
  const retryable =
    /throttl|toomanyrequests|requestlimitexceeded|slowdown|timeout/i.test(name) ||
    aws.$retryable !== undefined ||
    aws.$fault === "server" ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    isTransientNetworkError(error);
  const message = error instanceof Error ? error.message : String(error);
  return new DeliveryError(`${service}: ${name}: ${message.split("\n")[0]}`, { retryable, cause: error });
}
