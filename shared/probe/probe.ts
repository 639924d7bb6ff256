// Probes one host:port from outside, read-only: TCP connect, pipelined PING + INFO, then
// INFO commandstats only when INFO answered, then QUIT. Falls back to TLS when the plaintext
// connection closes without a byte. Every probe ends by its deadline and buffers at most `maxBytes`.
import { lookup } from "node:dns/promises";
import { isIP, Socket } from "node:net";
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from "node:tls";
import { callWithDeadline } from "../deadline.ts";
import {
  type CertificateFacts,
  exposureOf,
  type Finding,
  formatEndpoint,
  type ProbeResult,
  type ProbeState,
  type ServerFacts,
  type Target,
} from "../exposure/model.ts";
import type { AddressSet } from "../net/ip.ts";
import { classifyExchange, type Exchange, replyText } from "./redis/classify.ts";
import { compromiseFindings, cveFindings } from "./redis/findings.ts";
import { parseInfo, serverFactsOf } from "./redis/info.ts";
import { looksLikeResp, RespReader } from "./redis/resp.ts";

export interface ProbeOptions {
  /** How long to wait for the TCP (or TLS) handshake. */
  connectTimeoutMs: number;
  /** How long a connected peer may stay silent before we stop waiting. */
  replyTimeoutMs: number;
  /** Hard limit for the whole probe of one target, TLS retry included. */
  deadlineMs: number;
  /** Bytes accepted from one peer per connection. */
  maxBytes: number;
  /** Retry with TLS when plaintext gets no byte back. */
  tlsFallback: boolean;
  /** Masters a replica may legitimately follow (the organization's own addresses plus configured ones). */
  allowedMasters?: AddressSet;
}

export const DEFAULT_PROBE_OPTIONS: ProbeOptions = {
  connectTimeoutMs: 2_000,
  replyTimeoutMs: 2_000,
  deadlineMs: 6_000,
  maxBytes: 64 * 1024,
  tlsFallback: true,
};

const command = (...words: string[]) => `*${words.length}\r\n${words.map((w) => `$${w.length}\r\n${w}\r\n`).join("")}`;
const FIRST_ROUND = command("PING") + command("INFO");
const SECOND_ROUND_OPEN = command("INFO", "commandstats") + command("QUIT");
const SECOND_ROUND = command("QUIT");
const FIRST_BYTES_KEPT = 256;

/** How one connection attempt went. */
interface Attempt {
  /** The handshake did not complete. */
  connectError?: "refused" | "timeout" | "unreachable" | "reset" | "client-certificate" | "tls-failed" | "other";
  errorCode?: string;
  exchange: Exchange;
  bytes: number;
  /** Connected, and the peer said nothing until the reply timeout (rather than closing). */
  silent: boolean;
  certificate?: CertificateFacts;
}

function certificateFacts(certificate: PeerCertificate & { issuerCertificate?: PeerCertificate }): CertificateFacts {
  const name = (fields: Record<string, string | string[] | undefined> | undefined) =>
    Object.entries(fields ?? {})
      .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join("+") : value}`)
      .join(", ");
  const validTo = certificate.valid_to ? new Date(certificate.valid_to) : null;
  const issuer = certificate.issuerCertificate;
  const selfSigned =
    issuer === undefined || issuer === certificate || issuer.fingerprint256 === certificate.fingerprint256;
  return {
    subject: name(certificate.subject as unknown as Record<string, string>),
    issuer: name(certificate.issuer as unknown as Record<string, string>),
    validTo: validTo && !Number.isNaN(validTo.getTime()) ? validTo.toISOString() : null,
    selfSigned,
  };
}

function connectErrorOf(code: string | undefined): Attempt["connectError"] {
  switch (code) {
    case "ECONNREFUSED":
      return "refused";
    case "ETIMEDOUT":
      return "timeout";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EHOSTDOWN":
    case "ENETDOWN":
      return "unreachable";
    case "ECONNRESET":
    case "EPIPE":
      return "reset";
    default:
      if (code && /CERTIFICATE_REQUIRED|BAD_CERTIFICATE/.test(code)) return "client-certificate";
      if (code?.startsWith("ERR_SSL") || code === "EPROTO") return "tls-failed";
      return "other";
  }
}

/** One connection: handshake, the two rounds of commands, and the reading, all bounded. */
function attempt(
  ip: string,
  port: number,
  servername: string | undefined,
  useTls: boolean,
  deadlineAt: number,
  options: ProbeOptions,
): Promise<Attempt> {
  return new Promise((resolve) => {
    const reader = new RespReader({ maxBytes: options.maxBytes, maxBulkBytes: options.maxBytes });
    let firstBytes = Buffer.alloc(0);
    let connected = false;
    let secondRoundSent = false;
    let expectedReplies = Number.POSITIVE_INFINITY;
    let finished = false;
    let certificate: CertificateFacts | undefined;
    let silent = false;
    const timers: NodeJS.Timeout[] = [];
    let silenceTimer: NodeJS.Timeout | undefined;

    const socket: Socket | TLSSocket = useTls
      ? tlsConnect({ host: ip, port, servername, rejectUnauthorized: false, ALPNProtocols: [] })
      : new Socket().connect({ host: ip, port });

    const finish = (connectError?: Attempt["connectError"], errorCode?: string) => {
      if (finished) return;
      finished = true;
      for (const timer of timers) clearTimeout(timer);
      if (silenceTimer) clearTimeout(silenceTimer);
      socket.removeAllListeners("data");
      socket.destroy();
      const exchange: Exchange = { replies: reader.values, firstBytes, protocolError: reader.error };
      const result: Attempt = { exchange, bytes: reader.totalBytes, silent };
      if (connectError) result.connectError = connectError;
      if (errorCode) result.errorCode = errorCode;
      if (certificate) result.certificate = certificate;
      resolve(result);
    };

    const armSilence = () => {
      if (silenceTimer) clearTimeout(silenceTimer);
      silenceTimer = setTimeout(() => {
        silent = true;
        finish();
      }, options.replyTimeoutMs);
    };

    const remaining = Math.max(0, deadlineAt - Date.now());
    timers.push(setTimeout(() => finish(connected ? undefined : "timeout"), remaining));
    timers.push(
      setTimeout(
        () => {
          // Timers run before I/O in a loop turn: on a busy event loop a handshake that completed in
          // time may still be waiting to be read. Let this turn's I/O run before calling it silent.
          if (!connected) {
            setImmediate(() => {
              if (!connected) finish("timeout");
            });
          }
        },
        Math.min(options.connectTimeoutMs, remaining),
      ),
    );

    const onConnected = () => {
      connected = true;
      if (useTls) {
        const peer = (socket as TLSSocket).getPeerCertificate(true);
        if (peer && Object.keys(peer).length > 0) certificate = certificateFacts(peer);
      }
      socket.write(FIRST_ROUND);
      armSilence();
    };
    socket.once(useTls ? "secureConnect" : "connect", onConnected);

    socket.on("data", (chunk: Buffer) => {
      armSilence();
      if (firstBytes.length < FIRST_BYTES_KEPT) {
        firstBytes = Buffer.concat([firstBytes, chunk.subarray(0, FIRST_BYTES_KEPT - firstBytes.length)]);
      }
      reader.feed(chunk);
      // A first byte that is not RESP, a malformed reply or the byte cap: nothing more worth reading.
      if (reader.error !== null || !looksLikeResp(firstBytes[0] as number)) {
        finish();
        return;
      }
      if (!secondRoundSent && reader.values.length >= 2) {
        secondRoundSent = true;
        const infoAnswered = reader.values[1]?.type === "bulk";
        socket.write(infoAnswered ? SECOND_ROUND_OPEN : SECOND_ROUND);
        expectedReplies = infoAnswered ? 4 : 3;
      }
      if (reader.values.length >= expectedReplies) finish();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      const kind = connectErrorOf(error.code);
      // A client-certificate alert can arrive right after a TLS 1.3 handshake "completes".
      if (kind === "client-certificate") finish(kind, error.code);
      else if (!connected) finish(kind, error.code);
      else finish();
    });
    // Closed before the handshake completed (TLS: a plaintext peer hanging up on our ClientHello).
    const onClosed = () => finish(connected ? undefined : "reset");
    socket.on("close", onClosed);
    socket.on("end", onClosed);
  });
}

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

/** Probes one target. Never throws: every outcome is a state. */
export async function probeTarget(
  target: Target,
  options: Partial<ProbeOptions> = {},
  context: ProbeContext = {},
): Promise<ProbeResult> {
  const settings: ProbeOptions = { ...DEFAULT_PROBE_OPTIONS, ...options };
  const started = Date.now();
  const deadlineAt = started + settings.deadlineMs;
  const observedAt = new Date(started).toISOString();
  const finishResult = (ip: string, state: ProbeState, fields: Partial<ProbeResult>): ProbeResult => {
    // Key order is the documented JSON line order.
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
      observedAt,
    };
    if (target.asset) result.asset = target.asset;
    return result;
  };

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

  const plain = await attempt(socketAddress.host, socketAddress.port, servername, false, deadlineAt, settings);
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
    const secure = await attempt(socketAddress.host, socketAddress.port, servername, true, deadlineAt, settings);
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

  function fromExchange(address: string, result: Attempt, tls: boolean): ProbeResult {
    const classification = classifyExchange(result.exchange);
    let server: ServerFacts | null = null;
    let findings: Finding[] = [];
    if (classification.info) {
      const info = parseInfo(`${classification.info}\n${classification.commandstats ?? ""}`);
      server = serverFactsOf(info);
      findings = [...compromiseFindings(info, server, settings), ...cveFindings(server)];
    }
    return finishResult(address, classification.state, {
      tls,
      server,
      findings,
      reply: replyText(result.exchange.firstBytes),
      ...(result.certificate ? { certificate: result.certificate } : {}),
    });
  }
}
