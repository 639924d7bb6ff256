// Probes one host:port from outside, read-only: a TCP connect, then the target's protocol module
// speaks on the connection (docs/readme-probe.md). Falls back to TLS when the plaintext connection closes
// without a byte. Every probe ends by its deadline and buffers at most `maxBytes`.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { callWithDeadline } from "../deadline.ts";
import { exposureOf, formatEndpoint, type ProbeResult, type ProbeState, type Target } from "../exposure/model.ts";
import type { Conversation, ProtocolModule, VerdictOptions } from "./protocol.ts";
import { protocolOf } from "./protocols.ts";
import { type Attempt, connectOnce, type TransportOptions } from "./transport.ts";

export interface ProbeOptions extends TransportOptions, VerdictOptions {
  /** Hard limit for the whole probe of one target, TLS retry included. */
  deadlineMs: number;
  /** Retry with TLS when plaintext gets no byte back. */
  tlsFallback: boolean;
}

export const DEFAULT_PROBE_OPTIONS: ProbeOptions = {
  connectTimeoutMs: 2_000,
  replyTimeoutMs: 2_000,
  deadlineMs: 6_000,
  maxBytes: 64 * 1024,
  tlsFallback: true,
};

export interface ProbeContext {
  /** Resolves a host name; defaults to the system resolver. */
  resolve?: (host: string) => Promise<string>;
  /**
   * Where the socket for an address actually goes, when that is not the address itself: lets a test
   * stand loopback servers in for public addresses while results still name the public address.
   */
  connectTo?: (ip: string, port: number) => { host: string; port: number };
}

async function resolveHost(host: string, context: ProbeContext): Promise<string> {
  if (isIP(host)) return host;
  if (context.resolve) return context.resolve(host);
  return (await lookup(host)).address;
}

/** The result of probing `target`, begun at `started` (Date.now() time). Key order is the documented JSON line order. */
export function resultOf(
  target: Target,
  ip: string,
  state: ProbeState,
  fields: Partial<ProbeResult>,
  started: number,
): ProbeResult {
  const result: ProbeResult = {
    target: formatEndpoint(target.host, target.port),
    ip,
    port: target.port,
    state,
    exposure: exposureOf(state),
    tls: fields.tls ?? false,
    ...(fields.certificate ? { certificate: fields.certificate } : {}),
    server: fields.server ?? null,
    findings: fields.findings ?? [],
    reply: fields.reply ?? "",
    durationMs: Date.now() - started,
    observedAt: new Date(started).toISOString(),
  };
  if (target.asset) result.asset = target.asset;
  return result;
}

/** The result for a target whose probe failed on this side (it threw, against its contract). */
export function failedResult(target: Target, error: unknown): ProbeResult {
  const message = error instanceof Error ? error.message : String(error);
  return resultOf(target, target.host, "error", { reply: `(probe failed: ${message})`.slice(0, 200) }, Date.now());
}

/** Probes one target. Never throws: every outcome is a state. */
export async function probeTarget(
  target: Target,
  options: Partial<ProbeOptions> = {},
  context: ProbeContext = {},
): Promise<ProbeResult> {
  const settings: ProbeOptions = { ...DEFAULT_PROBE_OPTIONS, ...options };
  const started = Date.now();
  const deadlineAt = started + settings.deadlineMs;
  const finishResult = (ip: string, state: ProbeState, fields: Partial<ProbeResult>): ProbeResult =>
    resultOf(target, ip, state, fields, started);

  const protocol: ProtocolModule | undefined = protocolOf(target);
  if (protocol === undefined) {
    return finishResult(target.host, "error", { reply: `(unknown protocol "${target.protocol}")` });
  }

  let ip: string;
  try {
    ip = await callWithDeadline(Math.max(0, deadlineAt - Date.now()), () => resolveHost(target.host, context));
  } catch (error) {
    return finishResult(target.host, "closed", {
      reply: `(name not resolved: ${(error as Error).message})`.slice(0, 200),
    });
  }
  const servername = isIP(target.host) ? undefined : target.host;
  const socketAddress = context.connectTo?.(ip, target.port) ?? { host: ip, port: target.port };

  const attempt = (useTls: boolean) => {
    const conversation = protocol.converse(settings.maxBytes);
    return connectOnce(
      socketAddress.host,
      socketAddress.port,
      servername,
      useTls,
      deadlineAt,
      settings,
      conversation,
    ).then((result) => ({ ...result, conversation }));
  };
  const fromExchange = (
    address: string,
    result: Attempt & { conversation: Conversation },
    tls: boolean,
  ): ProbeResult => {
    const verdict = protocol.verdict(result.conversation, settings);
    return finishResult(address, verdict.state, {
      tls,
      server: verdict.server,
      findings: verdict.findings,
      reply: verdict.reply,
      ...(result.certificate ? { certificate: result.certificate } : {}),
    });
  };

  const plain = await attempt(false);
  if (plain.connectError === "refused") {
    return finishResult(ip, "closed", {
      reply: `(connection refused${plain.errorCode ? `: ${plain.errorCode}` : ""})`,
    });
  }
  // ECONNRESET while connecting means the handshake completed and the peer then reset: it accepted,
  // so it is handled like a connection that closed without a byte (a TLS-only Redis does this).
  if (plain.connectError && plain.connectError !== "reset") {
    return finishResult(ip, "filtered", { reply: `(no answer: ${plain.errorCode ?? plain.connectError})` });
  }
  if (plain.bytes > 0) return fromExchange(ip, plain, false);

  // Connected, but not a byte back: a TLS-only port resets plaintext. Try TLS before calling it dropped.
  if (settings.tlsFallback && deadlineAt - Date.now() > 50) {
    const secure = await attempt(true);
    if (secure.connectError === "client-certificate") {
      return finishResult(ip, "auth-required", {
        tls: true,
        reply: "(TLS handshake requires a client certificate)",
        ...(secure.certificate ? { certificate: secure.certificate } : {}),
      });
    }
    if (!secure.connectError && secure.bytes > 0) return fromExchange(ip, secure, true);
    if (!secure.connectError) {
      return finishResult(ip, "dropped", {
        tls: true,
        reply: "(TLS handshake completed, then no reply)",
        ...(secure.certificate ? { certificate: secure.certificate } : {}),
      });
    }
  }
  return finishResult(ip, "dropped", {
    reply: plain.silent ? "(connection accepted, then silent)" : "(connection accepted, then closed without a byte)",
  });
}
