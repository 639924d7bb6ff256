// Turns what a peer said into one state (docs/readme-probe.md, "Protocol modules"; README.md, the state table).
// Pure: no sockets here, so every reply form can be unit-tested without a server.
import type { ProbeState } from "../../exposure/model.ts";
import { isInfoText } from "./info.ts";
import { looksLikeResp, type RespValue } from "./resp.ts";

/** What was heard on one connection. */
export interface Exchange {
  replies: RespValue[];
  /** The first bytes received (at most a few hundred), for the reply text and protocol sniffing. */
  firstBytes: Buffer;
  /** Why the RESP reader stopped (malformed, oversized, byte cap), or null. */
  protocolError: string | null;
}

export interface Classification {
  state: ProbeState;
  /** The INFO text, when the server answered INFO (transient: parsed, never stored); whole lines only. */
  info?: string;
  /** The `INFO commandstats` text, when answered. */
  commandstats?: string;
  /**
   * Why the state holds when the first reply alone does not show it (INFO refused, renamed or cut by
   * the byte cap after PONG): added to the reply text.
   */
  reason?: string;
}

const AUTH_REQUIRED = [
  /^NOAUTH\b/,
  /^WRONGPASS\b/,
  /^NOPERM\b/,
  /^ERR operation not permitted/i,
  /^ERR invalid password/i,
  /authentication required/i,
];
const PROTECTED_MODE = [/^DENIED\b/, /protected mode/i];
const BUSY = [/^ERR max number of clients/i, /^LOADING\b/, /^BUSY\b/];
/**
 * INFO refusals that still leave PING's proof standing: an ACL user without @dangerous (INFO is in it),
 * and INFO renamed or disabled (rename-command INFO "").
 */
const INFO_REFUSED_AFTER_PONG = [/^NOPERM\b/, /^ERR unknown command\b/i];

/** The state a Redis error reply stands for. */
export function classifyError(message: string): ProbeState {
  if (PROTECTED_MODE.some((pattern) => pattern.test(message))) return "protected-mode";
  if (AUTH_REQUIRED.some((pattern) => pattern.test(message))) return "auth-required";
  if (BUSY.some((pattern) => pattern.test(message))) return "busy";
  return "error";
}

const isPong = (reply: RespValue | undefined) => reply?.type === "simple" && reply.value.toUpperCase() === "PONG";

/**
 * Classifies a connection on which at least one byte arrived. (No bytes at all is not decided here:
 * the caller retries with TLS before calling it `dropped`.) What each answer proves is in
 * docs/readme-probe.md, "What an answer proves".
 */
export function classifyExchange(exchange: Exchange): Classification {
  const first = exchange.firstBytes[0];
  if (first === undefined || !looksLikeResp(first)) return { state: "not-redis" };
  const { replies } = exchange;
  const [firstReply, secondReply] = replies;
  // INFO answering is the proof of unauthenticated access, whatever PING said (a loading server
  // answers PING with -LOADING but still serves INFO).
  const infoIndex = replies.findIndex(
    (reply) => reply.type === "bulk" && reply.value !== null && isInfoText(reply.value),
  );
  if (infoIndex >= 0) {
    const reply = replies[infoIndex] as Extract<RespValue, { type: "bulk" }>;
    const text = reply.value as string;
    if (reply.truncated) {
      // Cut by the byte cap: the facts are those of the whole lines that fit; no commandstats was asked for.
      return {
        state: "open-unauthenticated",
        info: text.slice(0, text.lastIndexOf("\n") + 1),
        reason: "INFO cut at the byte cap: facts from the part read",
      };
    }
    const stats = replies
      .slice(infoIndex + 1)
      .find(
        (reply) => reply.type === "bulk" && typeof reply.value === "string" && /^# Commandstats/i.test(reply.value),
      );
    return { state: "open-unauthenticated", info: text, ...(stats ? { commandstats: stats.value as string } : {}) };
  }
  if (!firstReply) return { state: "not-redis" }; // RESP-looking bytes that never formed a reply
  if (firstReply.type === "error") return { state: classifyError(firstReply.value) };
  if (isPong(firstReply)) {
    // PONG to a PING sent without credentials: this connection runs commands without a password.
    if (secondReply?.type === "error" && INFO_REFUSED_AFTER_PONG.some((pattern) => pattern.test(secondReply.value))) {
      return { state: "open-unauthenticated", reason: `INFO refused: -${secondReply.value}` };
    }
    if (secondReply?.type === "bulk" && secondReply.value !== null) {
      return {
        state: "open-unauthenticated",
        reason: secondReply.truncated
          ? "INFO longer than the byte cap, without version fields"
          : "INFO without version fields",
      };
    }
    if (secondReply?.type === "error") return { state: classifyError(secondReply.value) };
    // PONG, then nothing that answers INFO: a Redis-like server that would not describe itself.
    return { state: "error" };
  }
  return { state: "not-redis" };
}

/** The first reply as at most 200 printable characters ("+PONG", "-NOAUTH Authentication required."). */
export function replyText(firstBytes: Buffer, limit = 200): string {
  const end = firstBytes.indexOf("\r\n");
  const line = firstBytes.subarray(0, end >= 0 ? end : firstBytes.length).subarray(0, limit);
  return printableAscii(line);
}

/** The reply text of a classified exchange: the first reply, and the reason when there is one ("+PONG (INFO refused: -NOPERM ...)"). */
export function describeReply(exchange: Exchange, classification: Classification, limit = 200): string {
  const first = replyText(exchange.firstBytes, limit);
  if (!classification.reason) return first;
  return `${first} (${printableAscii(Buffer.from(classification.reason, "latin1"))})`.slice(0, limit);
}

function printableAscii(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : ".";
  return text;
}
