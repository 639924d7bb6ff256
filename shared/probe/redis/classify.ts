// Turns what a peer said into one state (redis-probe.md, "Replies and what they mean").
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
  /** The INFO text, when the server answered INFO (transient: parsed, never stored). */
  info?: string;
  /** The `INFO commandstats` text, when answered. */
  commandstats?: string;
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

/** The state a Redis error reply stands for. */
export function classifyError(message: string): ProbeState {
  if (PROTECTED_MODE.some((pattern) => pattern.test(message))) return "protected-mode";
  if (AUTH_REQUIRED.some((pattern) => pattern.test(message))) return "auth-required";
  if (BUSY.some((pattern) => pattern.test(message))) return "busy";
  return "error";
}

/**
 * Classifies a connection on which at least one byte arrived. (No bytes at all is not decided here:
 * the caller retries with TLS before calling it `dropped`.)
 */
export function classifyExchange(exchange: Exchange): Classification {
  const first = exchange.firstBytes[0];
  if (first === undefined || !looksLikeResp(first)) return { state: "not-redis" };
  const { replies } = exchange;
  // INFO answering is the proof of unauthenticated access, whatever PING said (a loading server
  // answers PING with -LOADING but still serves INFO).
  const infoIndex = replies.findIndex(
    (reply) => reply.type === "bulk" && reply.value !== null && isInfoText(reply.value),
  );
  if (infoIndex >= 0) {
    const info = replies[infoIndex]?.value as string;
    const stats = replies
      .slice(infoIndex + 1)
      .find(
        (reply) => reply.type === "bulk" && typeof reply.value === "string" && /^# Commandstats/i.test(reply.value),
      );
    return { state: "open-unauthenticated", info, ...(stats ? { commandstats: stats.value as string } : {}) };
  }
  const [firstReply, secondReply] = replies;
  if (!firstReply) return { state: "not-redis" }; // RESP-looking bytes that never formed a reply
  if (firstReply.type === "error") return { state: classifyError(firstReply.value) };
  if (firstReply.type === "simple" && firstReply.value.toUpperCase() === "PONG") {
    if (secondReply?.type === "error") {
      const state = classifyError(secondReply.value);
      return { state };
    }
    // PONG, but no INFO text: a Redis-like server that would not describe itself.
    return { state: "error" };
  }
  return { state: "not-redis" };
}

/** The first reply as at most 200 printable characters ("+PONG", "-NOAUTH Authentication required."). */
export function replyText(firstBytes: Buffer, limit = 200): string {
  const end = firstBytes.indexOf("\r\n");
  const line = firstBytes.subarray(0, end >= 0 ? end : firstBytes.length).subarray(0, limit);
  let text = "";
  for (const byte of line) text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : ".";
  return text;
}
