// One bounded connection: TCP (or TLS) handshake, then the protocol's conversation, all within a
// deadline, a connect timeout, a reply timeout and a byte cap (docs/readme-probe.md, "Transport").
import { Socket } from "node:net";
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from "node:tls";
import type { CertificateFacts } from "../exposure/model.ts";
import { printable } from "../printable.ts";
import type { Conversation } from "./protocol.ts";
import { type TimerEntry, TimerWheel } from "./timer-wheel.ts";

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

/** The connection a socket belongs to, for the listeners below (shared by every socket: no closure per attempt). */
const CONNECTION = Symbol("connection");
type ProbeSocket = (Socket | TLSSocket) & { [CONNECTION]: Connection };

/**
 * Connections whose handshake timer fired, looked at again once this loop turn's I/O has run:
 * timers run before I/O in a loop turn, so on a busy event loop a handshake that completed in
 * time may still be waiting to be read. One setImmediate serves every connection due in the turn.
 */
let lateChecks: Connection[] = [];

function runLateChecks(): void {
  const due = lateChecks;
  lateChecks = [];
  for (const connection of due) connection.late();
}

function onHandshakeDue(connection: Connection): void {
  connection.handshakeDue();
}

function onReplyDue(connection: Connection): void {
  connection.replyDue();
}

function onConnect(this: ProbeSocket): void {
  this[CONNECTION].connected();
}

function onTcpUp(this: ProbeSocket): void {
  this[CONNECTION].tcpUp();
}

function onData(this: ProbeSocket, chunk: Buffer): void {
  this[CONNECTION].data(chunk);
}

function onError(this: ProbeSocket, error: NodeJS.ErrnoException): void {
  this[CONNECTION].error(error);
}

// Closed before the handshake completed (TLS: a plaintext peer hanging up on our ClientHello).
function onClosed(this: ProbeSocket): void {
  const connection = this[CONNECTION];
  connection.finish(connection.isConnected ? undefined : "reset");
}

/** One connection attempt's state; its methods are the phases' timers and the socket's events. */
class Connection {
  readonly #socket: ProbeSocket;
  readonly #useTls: boolean;
  readonly #options: TransportOptions;
  readonly #converse: () => Conversation;
  readonly #resolve: (attempt: Attempt & { conversation?: Conversation }) => void;
  /** Deadline, performance.now() milliseconds. */
  readonly #deadline: number;
  #timer: TimerEntry;
  #conversation: Conversation | undefined;
  isConnected = false;
  #tcpUp = false;
  #finished = false;
  #certificate: CertificateFacts | undefined;
  #silent = false;
  #bytes = 0;
  #lastDataAt = 0;
  /** What a handshake timer that fired calls it, unless the handshake is seen completed meanwhile. */
  #lateKind: "timeout" | "tls-timeout" = "timeout";

  constructor(
    socket: Socket | TLSSocket,
    useTls: boolean,
    remaining: number,
    options: TransportOptions,
    converse: () => Conversation,
    resolve: (attempt: Attempt & { conversation?: Conversation }) => void,
  ) {
    this.#socket = socket as ProbeSocket;
    this.#socket[CONNECTION] = this;
    this.#useTls = useTls;
    this.#options = options;
    this.#converse = converse;
    this.#resolve = resolve;
    this.#deadline = performance.now() + remaining;
    // One timer per phase. Before the handshake completes: its timeout, or the deadline when that
    // comes first (then it is final at once).
    this.#timer = timers.schedule(Math.min(options.connectTimeoutMs, remaining), onHandshakeDue, this);
  }

  finish(connectError?: Attempt["connectError"], errorCode?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    timers.cancel(this.#timer);
    this.#socket.destroy();
    const result: Attempt & { conversation?: Conversation } = { bytes: this.#bytes, silent: this.#silent };
    if (connectError) result.connectError = connectError;
    if (errorCode) result.errorCode = errorCode;
    if (this.#certificate) result.certificate = this.#certificate;
    if (this.#conversation) result.conversation = this.#conversation;
    this.#resolve(result);
  }

  handshakeDue(): void {
    if (this.isConnected) return;
    if (performance.now() >= this.#deadline - 1) {
      this.finish(this.#tcpUp ? "tls-timeout" : "timeout");
      return;
    }
    // Let this turn's I/O run before calling it silent (lateChecks above).
    this.#lateKind = this.#tcpUp ? "tls-timeout" : "timeout";
    if (lateChecks.length === 0) setImmediate(runLateChecks);
    lateChecks.push(this);
  }

  late(): void {
    if (!this.isConnected) this.finish(this.#lateKind);
  }

  /** After the handshake: the reply timeout since the last byte (checked when due rather than re-armed for every chunk), or the deadline. */
  replyDue(): void {
    const now = performance.now();
    if (now >= this.#deadline - 1) {
      this.finish();
      return;
    }
    const quietMs = now - this.#lastDataAt;
    if (quietMs >= this.#options.replyTimeoutMs - 1) {
      this.#silent = true;
      this.finish();
      return;
    }
    this.#timer = timers.schedule(
      Math.min(this.#options.replyTimeoutMs - quietMs, this.#deadline - now),
      onReplyDue,
      this,
    );
  }

  #phase(ms: number, due: (connection: this) => void): void {
    timers.cancel(this.#timer);
    this.#timer = timers.schedule(Math.min(ms, Math.max(0, this.#deadline - performance.now())), due, this);
  }

  /** TLS: TCP is up; the TLS handshake gets its own, long timeout (TransportOptions.handshakeTimeoutMs). */
  tcpUp(): void {
    this.#tcpUp = true;
    this.#phase(this.#options.handshakeTimeoutMs, onHandshakeDue);
  }

  connected(): void {
    if (this.isConnected || this.#finished) return;
    this.isConnected = true;
    if (this.#useTls) this.#certificate = peerCertificate(this.#socket as TLSSocket);
    const conversation = this.#converse();
    this.#conversation = conversation;
    this.#socket.write(conversation.opening);
    this.#lastDataAt = performance.now();
    this.#phase(this.#options.replyTimeoutMs, onReplyDue);
  }

  data(chunk: Buffer): void {
    if (this.#finished) return;
    this.#lastDataAt = performance.now();
    this.#bytes += chunk.length;
    const next = (this.#conversation as Conversation).receive(chunk);
    if (next.send !== undefined) this.#socket.write(next.send);
    // The byte cap holds whatever the protocol module does with the bytes.
    if (next.done || this.#bytes > this.#options.maxBytes) this.finish();
  }

  error(error: NodeJS.ErrnoException): void {
    let kind = connectErrorOf(error.code);
    if (
      this.#useTls &&
      !this.isConnected &&
      kind === "tls-failed" &&
      /ALERT_HANDSHAKE_FAILURE/.test(error.code ?? "")
    ) {
      // TLS 1.2 asks for a client certificate in the handshake and fails with a handshake_failure alert
      // once the client sends none. A failure that late (the server had already sent its certificate,
      // unlike a failure over ciphers or versions at the ClientHello) is that demand.
      const presented = peerCertificate(this.#socket as TLSSocket);
      if (presented) {
        this.#certificate = presented;
        kind = "client-certificate";
      }
    }
    // A client-certificate alert can arrive right after a TLS 1.3 handshake "completes".
    if (kind === "client-certificate") this.finish(kind, error.code);
    else if (!this.isConnected) this.finish(kind, error.code);
    else this.finish();
  }
}

/**
 * One connection: handshake, the conversation and the reading, all bounded. The conversation is
 * started only once the handshake completes (most attempts never get there); it comes back with
 * the attempt, for the protocol's verdict. Per attempt: one socket, one state object, one timer
 * wheel entry per phase, and no closure (docs/readme-probe.md, "CPU").
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
  const remaining = Math.max(0, deadlineAt - Date.now());
  const socket: Socket | TLSSocket = useTls
    ? tlsConnect({ host: ip, port, servername, rejectUnauthorized: false, ALPNProtocols: [] })
    : new Socket().connect({ host: ip, port });
  const promise = new Promise<Attempt & { conversation?: Conversation }>((resolve) => {
    new Connection(socket, useTls, remaining, options, converse, resolve);
  });
  if (useTls) socket.on("connect", onTcpUp);
  socket.on(useTls ? "secureConnect" : "connect", onConnect);
  socket.on("data", onData);
  socket.on("error", onError);
  socket.on("close", onClosed);
  socket.on("end", onClosed);
  // The conversation that comes back is the one `converse` made.
  return promise as Promise<Attempt & { conversation?: C }>;
}
