// One bounded connection: TCP (or TLS) handshake, then the protocol's conversation, all within a
// deadline, a connect timeout, a reply timeout and a byte cap (docs/readme-probe.md, "Transport").
import { Socket } from "node:net";
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from "node:tls";
import type { CertificateFacts } from "../exposure/model.ts";
import { printable } from "../printable.ts";
import type { Conversation } from "./protocol.ts";
import { TimerWheel } from "./timer-wheel.ts";

export interface TransportOptions {
  /** How long to wait for the TCP handshake (the SYN's answer). */
  connectTimeoutMs: number;
  /**
   * How long a TLS handshake may take once TCP is up: the long timeout, never the short silent-SYN one
   * (a TLS handshake over a slow path takes several round trips and the server's own work).
   */
  handshakeTimeoutMs: number;
  /** How long a connected peer may stay silent before we stop waiting. */
  replyTimeoutMs: number;
  /** Bytes accepted from one peer per connection. */
  maxBytes: number;
}

/** How one connection attempt went. */
export interface Attempt {
  /** The handshake did not complete. */
  connectError?:
    | "refused"
    | "timeout"
    | "unreachable"
    | "reset"
    | "client-certificate"
    | "tls-failed"
    | "tls-timeout"
    | "local"
    | "other";
  errorCode?: string;
  /** Bytes received from the peer. */
  bytes: number;
  /** Connected, and the peer said nothing until the reply timeout (rather than closing). */
  silent: boolean;
  certificate?: CertificateFacts;
}

export function certificateFacts(
  certificate: PeerCertificate & { issuerCertificate?: PeerCertificate },
): CertificateFacts {
  // Names are the peer's text: without control characters, and bounded (docs/readme-probe.md, "Text from targets").
  const name = (fields: Record<string, string | string[] | undefined> | undefined) =>
    printable(
      Object.entries(fields ?? {})
        .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join("+") : value}`)
        .join(", "),
      512,
    );
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

/**
 * Errors of this machine, never of the target: no descriptors, no buffers or memory, no local address
 * for the family, the family unsupported, the local firewall refusing (docs/readme-probe.md, "Probe errors").
 */
const LOCAL_ERRORS = new Set([
  "EMFILE",
  "ENFILE",
  "ENOBUFS",
  "ENOMEM",
  "EAFNOSUPPORT",
  "EADDRNOTAVAIL",
  "EPERM",
  "EACCES",
]);

export function connectErrorOf(code: string | undefined): Attempt["connectError"] {
  if (code && LOCAL_ERRORS.has(code)) return "local";
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

/** The facts of the certificate the peer presented so far, if any. */
function peerCertificate(socket: TLSSocket): CertificateFacts | undefined {
  const peer = socket.getPeerCertificate(true);
  return peer && Object.keys(peer).length > 0 ? certificateFacts(peer) : undefined;
}

/** The one timer every connection's deadlines share. */
const timers = new TimerWheel();

/**
 * One connection: handshake, the conversation and the reading, all bounded. The conversation is
 * started only once the handshake completes (most attempts never get there); it comes back with
 * the attempt, for the protocol's verdict.
 */
export function connectOnce<C extends Conversation>(
  ip: string,
  port: number,
  servername: string | undefined,
  useTls: boolean,
  deadlineAt: number,
  options: TransportOptions,
  converse: () => C,
): Promise<Attempt & { conversation?: C }> {
  return new Promise((resolve) => {
    let conversation: C | undefined;
    let connected = false;
    let tcpUp = false;
    let finished = false;
    let certificate: CertificateFacts | undefined;
    let silent = false;
    let bytes = 0;
    let lastDataAt = 0;
    const remaining = Math.max(0, deadlineAt - Date.now());
    const deadline = performance.now() + remaining;

    const socket: Socket | TLSSocket = useTls
      ? tlsConnect({ host: ip, port, servername, rejectUnauthorized: false, ALPNProtocols: [] })
      : new Socket().connect({ host: ip, port });

    const finish = (connectError?: Attempt["connectError"], errorCode?: string) => {
      if (finished) return;
      finished = true;
      timers.cancel(timer);
      socket.removeAllListeners("data");
      socket.destroy();
      const result: Attempt & { conversation?: C } = { bytes, silent };
      if (connectError) result.connectError = connectError;
      if (errorCode) result.errorCode = errorCode;
      if (certificate) result.certificate = certificate;
      if (conversation) result.conversation = conversation;
      resolve(result);
    };

    // One timer per phase. Before the handshake completes: its timeout, or the deadline when that
    // comes first (then it is final at once).
    const handshakeDue = (late: () => void) => () => {
      if (connected) return;
      if (performance.now() >= deadline - 1) {
        finish(tcpUp ? "tls-timeout" : "timeout");
        return;
      }
      // Timers run before I/O in a loop turn: on a busy event loop a handshake that completed in
      // time may still be waiting to be read. Let this turn's I/O run before calling it silent.
      setImmediate(() => !connected && late());
    };
    // After it: the reply timeout since the last byte (checked when due rather than re-armed for
    // every chunk), or the deadline.
    const replyDue = () => {
      const now = performance.now();
      if (now >= deadline - 1) {
        finish();
        return;
      }
      const quietMs = now - lastDataAt;
      if (quietMs >= options.replyTimeoutMs - 1) {
        silent = true;
        finish();
        return;
      }
      timer = timers.schedule(Math.min(options.replyTimeoutMs - quietMs, deadline - now), replyDue);
    };
    const phase = (ms: number, due: () => void) => {
      timers.cancel(timer);
      timer = timers.schedule(Math.min(ms, Math.max(0, deadline - performance.now())), due);
    };
    let timer = timers.schedule(
      Math.min(options.connectTimeoutMs, remaining),
      handshakeDue(() => finish("timeout")),
    );
    if (useTls) {
      // The TLS handshake gets its own, long timeout once TCP is up (TransportOptions.handshakeTimeoutMs).
      socket.once("connect", () => {
        tcpUp = true;
        phase(
          options.handshakeTimeoutMs,
          handshakeDue(() => finish("tls-timeout")),
        );
      });
    }

    const onConnected = () => {
      connected = true;
      if (useTls) certificate = peerCertificate(socket as TLSSocket);
      conversation = converse();
      socket.write(conversation.opening);
      lastDataAt = performance.now();
      phase(options.replyTimeoutMs, replyDue);
    };
    socket.once(useTls ? "secureConnect" : "connect", onConnected);

    socket.on("data", (chunk: Buffer) => {
      lastDataAt = performance.now();
      bytes += chunk.length;
      const next = (conversation as C).receive(chunk);
      if (next.send !== undefined) socket.write(next.send);
      // The byte cap holds whatever the protocol module does with the bytes.
      if (next.done || bytes > options.maxBytes) finish();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      let kind = connectErrorOf(error.code);
      if (useTls && !connected && kind === "tls-failed" && /ALERT_HANDSHAKE_FAILURE/.test(error.code ?? "")) {
        // TLS 1.2 asks for a client certificate in the handshake and fails with a handshake_failure alert
        // once the client sends none. A failure that late (the server had already sent its certificate,
        // unlike a failure over ciphers or versions at the ClientHello) is that demand.
        const presented = peerCertificate(socket as TLSSocket);
        if (presented) {
          certificate = presented;
          kind = "client-certificate";
        }
      }
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
