// What a protocol module gives the transport (docs/readme-probe.md, "Protocol modules"). The transport owns
// TCP, TLS, the deadline and the byte cap and decides the neutral verdicts (closed, filtered,
// dropped); a module only speaks its protocol on a connection that is up, and judges what it heard. Its words for alerts and reports are registered apart
// (shared/protocols/), so that those know no probe internals.
import type { Finding, ProbeState, ProtocolFacts } from "../exposure/model.ts";
import type { AddressSet } from "../net/ip.ts";

/** The protocol's side of one connection. */
export interface Conversation {
  /** What to send once the handshake completes. */
  readonly opening: string;
  /** Takes bytes from the peer; says what to send next, if anything, and whether the exchange is over. */
  receive(chunk: Buffer): { send?: string; done: boolean };
}

/** What the protocol makes of a connection on which at least one byte arrived. */
export interface Verdict {
  state: ProbeState;
  /** The protocol's facts, under its name (ProbeResult.protocol). */
  protocol: ProtocolFacts;
  findings: Finding[];
  /** The first reply, at most 200 printable characters. */
  reply: string;
}

/** Settings a protocol may use to judge what it heard. */
export interface VerdictOptions {
  /** Masters a replica may legitimately follow (the organization's own addresses plus configured ones). */
  allowedMasters?: AddressSet;
}

export interface ProtocolModule {
  /** The name a `Target` gives in its `protocol` field. */
  readonly name: string;
  readonly defaultPort: number;
  /** Starts the conversation of one connection; the module buffers at most `maxBytes`. */
  converse(maxBytes: number): Conversation;
  /** Judges a conversation on which at least one byte arrived. */
  verdict(conversation: Conversation, options: VerdictOptions): Verdict;
}
