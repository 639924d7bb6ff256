// Probes one host:port from outside, read-only: a TCP connect, then the target's protocol module
// speaks on the connection (docs/readme-probe.md). Falls back to TLS when the plaintext connection closes
// without a byte. Every probe ends by its deadline and buffers at most `maxBytes`.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { callWithDeadline } from "../deadline.ts";
import {
  DEFAULT_PROTOCOL,
  exposureOf,
  formatEndpoint,
  PROBE_ERROR,
  type ProbeErrorResult,
  type ProbeOutcome,
  type ProbeResult,
  type ProbeState,
  type Target,
} from "../exposure/model.ts";
import type { Conversation, ProtocolModule, VerdictOptions } from "./protocol.ts";
import { protocolOf } from "./protocols.ts";
import { localRouteError } from "./route.ts";
import { type Attempt, connectOnce, type TransportOptions } from "./transport.ts";

export interface ProbeOptions extends TransportOptions, VerdictOptions {
  /** Hard limit for the whole probe of one target, TLS retry included. */
  deadlineMs: number;
  /** Retry with TLS when plaintext gets no byte back. */
  tlsFallback: boolean;
}

export const DEFAULT_PROBE_OPTIONS: ProbeOptions = {
  connectTimeoutMs: 2_000,
  handshakeTimeoutMs: 3_500,
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
    protocol: fields.protocol ?? { name: target.protocol ?? DEFAULT_PROTOCOL },
    findings: fields.findings ?? [],
    reply: fields.reply ?? "",
    durationMs: Date.now() - started,
    observedAt: new Date(started).toISOString(),
  };
  if (target.asset) result.asset = target.asset;
  return result;
}

/** Why the prober could not look, in words, per error code (docs/readme-probe.md, "Probe errors"). */
function probeErrorReason(code: string, ip: string): string {
  const family = isIP(ip) === 6 ? "IPv6" : "IPv4";
  switch (code) {
    case "ENETUNREACH":
    case "EHOSTUNREACH":
      return `no route to ${family} address ${ip} on this machine`;
    case "EAFNOSUPPORT":
      return `${family} is not supported on this machine`;
    case "EADDRNOTAVAIL":
      return `no local ${family} address to connect from`;
    case "EMFILE":
    case "ENFILE":
      return "out of file descriptors (lower --concurrency or raise the limit)";
    case "ENOBUFS":
    case "ENOMEM":
      return "out of socket buffers or memory on this machine";
    case "EPERM":
    case "EACCES":
      return "this machine's own firewall or policy refused the connection";
    default:
      return `prober failure (${code})`;
  }
}

/**
 * The result of a probe that could not look at `target` because of this side (docs/readme-probe.md,
 * "Probe errors"): never a state of the target.
 */
export function probeErrorOf(
  target: Target,
  ip: string,
  code: string,
  started: number,
  reason = probeErrorReason(code, ip),
): ProbeErrorResult {
  const result: ProbeErrorResult = {
    target: formatEndpoint(target.host, target.port),
    ip,
    port: target.port,
    state: PROBE_ERROR,
    exposure: null,
    probeError: { code, reason },
    reply: `(probe error: ${reason})`.slice(0, 200),
    durationMs: Date.now() - started,
    observedAt: new Date(started).toISOString(),
  };
  if (target.asset) result.asset = target.asset;
  return result;
}

/** The result for a target whose probe failed on this side (it threw, against its contract): a probe error. */
export function failedResult(target: Target, error: unknown): ProbeErrorResult {
  const message = error instanceof Error ? error.message : String(error);
  return probeErrorOf(target, target.host, "EPROBE", Date.now(), `probe failed: ${message}`.slice(0, 160));
}

/** One connection attempt of a probe, plaintext or TLS, with the probe's settings and deadline. */
function attemptOnce(
  protocol: ProtocolModule,
  socketAddress: { host: string; port: number },
  servername: string | undefined,
  useTls: boolean,
  deadlineAt: number,
  settings: ProbeOptions,
): Promise<Attempt & { conversation?: Conversation }> {
  // The TLS retry follows a plaintext connection that was accepted: the path answers, so its TCP
  // handshake gets the long timeout too, never the engine's short silent-SYN one.
  const transport = useTls
    ? { ...settings, connectTimeoutMs: Math.max(settings.connectTimeoutMs, settings.handshakeTimeoutMs) }
    : settings;
  return connectOnce(socketAddress.host, socketAddress.port, servername, useTls, deadlineAt, transport, () =>
    protocol.converse(settings.maxBytes),
  );
}

/** The result of a connection that got bytes back: the protocol module's verdict on its conversation. */
function resultOfExchange(
  protocol: ProtocolModule,
  settings: ProbeOptions,
  target: Target,
  address: string,
  result: Attempt & { conversation?: Conversation },
  tls: boolean,
  started: number,
): ProbeResult {
  const verdict = protocol.verdict(result.conversation as Conversation, settings);
  const fields: Partial<ProbeResult> = {
    tls,
    protocol: verdict.protocol,
    findings: verdict.findings,
    reply: verdict.reply,
  };
  if (result.certificate) fields.certificate = result.certificate;
  return resultOf(target, address, verdict.state, fields, started);
}

/** Probes one target. Never throws: every outcome is a state, or a probe error of the prober's own side. */
export async function probeTarget(
  target: Target,
  options: Partial<ProbeOptions> = {},
  context: ProbeContext = {},
): Promise<ProbeOutcome> {
  const settings: ProbeOptions = { ...DEFAULT_PROBE_OPTIONS, ...options };
  const started = Date.now();
  const deadlineAt = started + settings.deadlineMs;

  const protocol: ProtocolModule | undefined = protocolOf(target);
  if (protocol === undefined) {
    return probeErrorOf(
      target,
      target.host,
      "EPROTONOSUPPORT",
      started,
      `unknown protocol "${String(target.protocol).slice(0, 40)}"`,
    );
  }

  // An address needs no lookup (nor the timer and abort signal of one): most targets are addresses.
  const literal = isIP(target.host) !== 0;
  let ip = target.host;
  if (!literal) {
    try {
      ip = await callWithDeadline(Math.max(0, deadlineAt - Date.now()), () => resolveHost(target.host, context));
    } catch (error) {
      // The name did not resolve (or the resolver failed): nothing was learnt about any address.
      const code = (error as NodeJS.ErrnoException).code ?? "ERESOLVE";
      return probeErrorOf(
        target,
        target.host,
        code,
        started,
        `name not resolved: ${(error as Error).message}`.slice(0, 160),
      );
    }
  }
  const servername = literal ? undefined : target.host;
  const socketAddress = context.connectTo?.(ip, target.port) ?? { host: ip, port: target.port };

  const plain = await attemptOnce(protocol, socketAddress, servername, false, deadlineAt, settings);
  if (plain.connectError === "refused") {
    return resultOf(
      target,
      ip,
      "closed",
      {
        reply: `(connection refused${plain.errorCode ? `: ${plain.errorCode}` : ""})`,
      },
      started,
    );
  }
  if (plain.connectError === "local") return probeErrorOf(target, ip, plain.errorCode ?? "EUNKNOWN", started);
  if (plain.connectError === "unreachable") {
    // Unreachable from this machine (no route for the address, or for its whole family) is the prober's
    // failure; unreachable with a local route is the network's answer (an ICMP error from a router or filter).
    const local = await localRouteError(socketAddress.host, socketAddress.port);
    if (local !== null) return probeErrorOf(target, ip, local, started);
  }
  // ECONNRESET while connecting means the handshake completed and the peer then reset: it accepted,
  // so it is handled like a connection that closed without a byte (a TLS-only server does this).
  if (plain.connectError && plain.connectError !== "reset") {
    return resultOf(
      target,
      ip,
      "filtered",
      { reply: `(no answer: ${plain.errorCode ?? plain.connectError})` },
      started,
    );
  }
  if (plain.bytes > 0) return resultOfExchange(protocol, settings, target, ip, plain, false, started);

  // Connected, but not a byte back: a TLS-only port resets plaintext. Try TLS before calling it dropped.
  if (settings.tlsFallback && deadlineAt - Date.now() > 50) {
    const secure = await attemptOnce(protocol, socketAddress, servername, true, deadlineAt, settings);
    // The endpoint accepted TCP a moment ago: a TLS attempt this machine could not make proves nothing.
    if (secure.connectError === "local") return probeErrorOf(target, ip, secure.errorCode ?? "EUNKNOWN", started);
    if (secure.connectError === "client-certificate") {
      return resultOf(
        target,
        ip,
        "auth-required",
        {
          tls: true,
          reply: "(TLS handshake requires a client certificate)",
          ...(secure.certificate ? { certificate: secure.certificate } : {}),
        },
        started,
      );
    }
    if (!secure.connectError && secure.bytes > 0)
      return resultOfExchange(protocol, settings, target, ip, secure, true, started);
    if (!secure.connectError) {
      return resultOf(
        target,
        ip,
        "dropped",
        {
          tls: true,
          reply: "(TLS handshake completed, then no reply)",
          ...(secure.certificate ? { certificate: secure.certificate } : {}),
        },
        started,
      );
    }
  }
  return resultOf(
    target,
    ip,
    "dropped",
    {
      reply: plain.silent ? "(connection accepted, then silent)" : "(connection accepted, then closed without a byte)",
    },
    started,
  );
}
