// The Redis conversation on one connection, read-only: pipelined PING + INFO, then INFO
// commandstats only when INFO answered, then QUIT. Buffers at most `maxBytes`.
import type { Finding } from "../../exposure/model.ts";
import type { Conversation, ProtocolModule, Verdict, VerdictOptions } from "../protocol.ts";
import { classifyExchange, describeReply, type Exchange } from "./classify.ts";
import { REDIS, redisFacts, type ServerFacts } from "./facts.ts";
import { compromiseFindings, cveFindings } from "./findings.ts";
import { parseInfo, serverFactsOf } from "./info.ts";
import { looksLikeResp, RespReader } from "./resp.ts";

const command = (...words: string[]) => `*${words.length}\r\n${words.map((w) => `$${w.length}\r\n${w}\r\n`).join("")}`;
const FIRST_ROUND = command("PING") + command("INFO");
const SECOND_ROUND_OPEN = command("INFO", "commandstats") + command("QUIT");
const SECOND_ROUND = command("QUIT");
const FIRST_BYTES_KEPT = 256;

export class RedisSession implements Conversation {
  readonly opening = FIRST_ROUND;
  readonly reader: RespReader;
  firstBytes: Buffer = Buffer.alloc(0);
  #secondRoundSent = false;
  #expectedReplies = Number.POSITIVE_INFINITY;

  constructor(maxBytes: number) {
    this.reader = new RespReader({ maxBytes, maxBulkBytes: maxBytes });
  }

  receive(chunk: Buffer): { send?: string; done: boolean } {
    const reader = this.reader;
    if (this.firstBytes.length < FIRST_BYTES_KEPT) {
      this.firstBytes = Buffer.concat([this.firstBytes, chunk.subarray(0, FIRST_BYTES_KEPT - this.firstBytes.length)]);
    }
    reader.feed(chunk);
    // A first byte that is not RESP, a malformed reply or the byte cap: nothing more worth reading.
    if (reader.error !== null || !looksLikeResp(this.firstBytes[0] as number)) return { done: true };
    let send: string | undefined;
    if (!this.#secondRoundSent && reader.values.length >= 2) {
      this.#secondRoundSent = true;
      const infoAnswered = reader.values[1]?.type === "bulk";
      send = infoAnswered ? SECOND_ROUND_OPEN : SECOND_ROUND;
      this.#expectedReplies = infoAnswered ? 4 : 3;
    }
    const done = reader.values.length >= this.#expectedReplies;
    return send === undefined ? { done } : { send, done };
  }

  get exchange(): Exchange {
    return { replies: this.reader.values, firstBytes: this.firstBytes, protocolError: this.reader.error };
  }
}

/** State, server facts and findings from what a Redis conversation heard. */
export function redisVerdict(session: RedisSession, options: VerdictOptions): Verdict {
  const exchange = session.exchange;
  const classification = classifyExchange(exchange);
  let server: ServerFacts | null = null;
  let findings: Finding[] = [];
  if (classification.info) {
    const info = parseInfo(`${classification.info}\n${classification.commandstats ?? ""}`);
    server = serverFactsOf(info);
    findings = [...compromiseFindings(info, server, options), ...cveFindings(server)];
  }
  return {
    state: classification.state,
    protocol: redisFacts(server),
    findings,
    reply: describeReply(exchange, classification),
  };
}

export const redis: ProtocolModule = {
  name: REDIS,
  defaultPort: 6379,
  converse: (maxBytes) => new RedisSession(maxBytes),
  verdict: (conversation, options) => redisVerdict(conversation as RedisSession, options),
};
