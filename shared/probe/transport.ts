// One bounded connection: TCP (or TLS) handshake, then the protocol's conversation, all within a
// deadline, a connect timeout, a reply timeout and a byte cap (docs/readme-probe.md, "Transport").
import { Socket } from "node:net";
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from "node:tls";
import type { CertificateFacts } from "../exposure/model.ts";
import type { Conversation } from "./protocol.ts";

export interface TransportOptions {
  /** How long to wait for the TCP (or TLS) handshake. */
  connectTimeoutMs: number;
  /** How long a connected peer may stay silent before we stop waiting. */
  replyTimeoutMs: number;
  /** Bytes accepted from one peer per connection. */
  maxBytes: number;
}

/** How one connection attempt went. */
export interface Attempt {
  /** The handshake did not complete. */
  connectError?: "refused" | "timeout" | "unreachable" | "reset" | "client-certificate" | "tls-failed" | "other";
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

export function connectErrorOf(code: string | undefined): Attempt["connectError"] {
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

/** One connection: handshake, the conversation and the reading, all bounded. */
export function connectOnce(
  ip: string,
  port: number,
  servername: string | undefined,
  useTls: boolean,
  deadlineAt: number,
  options: TransportOptions,
  conversation: Conversation,
): Promise<Attempt> {
  return new Promise((resolve) => {
    let connected = false;
    let finished = false;
    let certificate: CertificateFacts | undefined;
    let silent = false;
    let bytes = 0;
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
      const result: Attempt = { bytes, silent };
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
      socket.write(conversation.opening);
      armSilence();
    };
    socket.once(useTls ? "secureConnect" : "connect", onConnected);

    socket.on("data", (chunk: Buffer) => {
      armSilence();
      bytes += chunk.length;
      const next = conversation.receive(chunk);
      if (next.send !== undefined) socket.write(next.send);
      // The byte cap holds whatever the protocol module does with the bytes.
      if (next.done || bytes > options.maxBytes) finish();
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
