// An incremental RESP2 reader for replies from an untrusted peer. It never throws and never holds
// more than `maxBytes` of input: on malformed or oversized input it stops and records why in `error`.
// Replies may arrive split across any number of packets; `feed` can be called with any chunking.
// A bulk string longer than the cap is read up to the cap and kept as a cut value (`truncated`); the
// rest is never read (docs/readme-probe.md, "What an answer proves").

export type RespValue =
  | { type: "simple"; value: string }
  | { type: "error"; value: string }
  | { type: "integer"; value: number }
  | { type: "bulk"; value: string | null; truncated?: true }
  | { type: "array"; value: RespValue[] | null };

export interface RespReaderLimits {
  /** Bytes buffered (and accepted in total) at most. */
  maxBytes: number;
  /**
   * Largest bulk string read whole. A longer one (its header allocates nothing) is read up to the byte
   * cap and kept cut; a length beyond Redis's own limit (512 MB) is malformed.
   */
  maxBulkBytes: number;
  /** Most elements in one array, and nesting depth. */
  maxArrayLength: number;
  maxDepth: number;
}

export const DEFAULT_RESP_LIMITS: RespReaderLimits = {
  maxBytes: 64 * 1024,
  maxBulkBytes: 60 * 1024,
  maxArrayLength: 1024,
  maxDepth: 4,
};

/** The first byte of every RESP2 and RESP3 reply type. */
const RESP_TYPE_BYTES = new Set("+-:$*_,#!=(%~>|".split("").map((c) => c.charCodeAt(0)));

export function looksLikeResp(firstByte: number): boolean {
  return RESP_TYPE_BYTES.has(firstByte);
}

/** Redis's proto-max-bulk-len ceiling: a longer announced bulk is not a Redis reply. */
const MAX_ANNOUNCED_BULK = 512 * 1024 * 1024;

class Incomplete {}
const INCOMPLETE = new Incomplete();

class Malformed {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

export class RespReader {
  readonly values: RespValue[] = [];
  /** Why reading stopped, or null while the input is well-formed. */
  error: string | null = null;
  /** Bytes accepted in total (including those already parsed). */
  totalBytes = 0;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #limits: RespReaderLimits;

  constructor(limits: Partial<RespReaderLimits> = {}) {
    this.#limits = { ...DEFAULT_RESP_LIMITS, ...limits };
  }

  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  /** Adds bytes and parses every complete reply they finish. */
  feed(chunk: Uint8Array): void {
    if (this.error !== null) return;
    const room = this.#limits.maxBytes - this.totalBytes;
    if (chunk.length > room) {
      // Read what fits (the replies in it still count), keep a bulk string cut by the cap, then stop.
      if (room > 0) this.feed(chunk.subarray(0, room));
      if (this.error === null) {
        const cut = this.#cutBulk();
        if (cut) this.values.push(cut);
        this.#fail(`byte cap of ${this.#limits.maxBytes} reached`);
      }
      return;
    }
    this.totalBytes += chunk.length;
    this.#buffer = this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      if (this.#buffer.length === 0) return;
      const parsed = this.#parse(0, 0);
      if (parsed === INCOMPLETE) {
        const header = this.#bulkHeader();
        const cut = header && this.#buffer.length - header[1] >= this.#limits.maxBulkBytes ? this.#cutBulk() : null;
        if (cut) {
          this.values.push(cut);
          this.#fail(`bulk string longer than ${this.#limits.maxBulkBytes} bytes cut`);
        }
        return;
      }
      if (parsed instanceof Malformed) {
        this.#fail(parsed.reason);
        return;
      }
      const [value, end] = parsed as [RespValue, number];
      this.values.push(value);
      this.#buffer = this.#buffer.subarray(end);
    }
  }

  /** Length and body offset of the bulk string the buffer starts with, or null when it holds another reply. */
  #bulkHeader(): [number, number] | null {
    if (this.#buffer[0] !== 0x24 /* $ */) return null;
    const line = this.#line(1);
    if (!Array.isArray(line)) return null;
    const length = this.#length(line[0], "bulk");
    return length instanceof Malformed || length < 0 ? null : [length, line[1]];
  }

  /** That bulk string cut where the input stopped, or null. */
  #cutBulk(): RespValue | null {
    const header = this.#bulkHeader();
    if (!header) return null;
    const [length, next] = header;
    const end = Math.min(this.#buffer.length, next + length);
    return { type: "bulk", value: this.#buffer.toString("utf8", next, end), truncated: true };
  }

  #fail(reason: string): void {
    this.error = reason;
    this.#buffer = Buffer.alloc(0);
  }

  /** Reads a CRLF-terminated line starting at `offset`; returns its text and the offset after CRLF. */
  #line(offset: number): [string, number] | Incomplete | Malformed {
    const end = this.#buffer.indexOf("\r\n", offset, "latin1");
    if (end < 0) return INCOMPLETE;
    return [this.#buffer.toString("latin1", offset, end), end + 2];
  }

  #length(text: string, what: string): number | Malformed {
    if (!/^-?\d{1,18}$/.test(text)) return new Malformed(`bad ${what} length "${text.slice(0, 20)}"`);
    return Number(text);
  }

  #parse(offset: number, depth: number): [RespValue, number] | Incomplete | Malformed {
    if (offset >= this.#buffer.length) return INCOMPLETE;
    const type = this.#buffer[offset] as number;
    if (!looksLikeResp(type)) return new Malformed(`not RESP: first byte 0x${type.toString(16).padStart(2, "0")}`);
    const line = this.#line(offset + 1);
    if (!Array.isArray(line)) return line;
    const [text, next] = line;
    switch (String.fromCharCode(type)) {
      case "+":
        return [{ type: "simple", value: text }, next];
      case "-":
        return [{ type: "error", value: text }, next];
      case ":": {
        if (!/^-?\d{1,18}$/.test(text)) return new Malformed(`bad integer "${text.slice(0, 20)}"`);
        return [{ type: "integer", value: Number(text) }, next];
      }
      case "$": {
        const length = this.#length(text, "bulk");
        if (length instanceof Malformed) return length;
        if (length === -1) return [{ type: "bulk", value: null }, next];
        if (length < -1 || length > MAX_ANNOUNCED_BULK) {
          return new Malformed(`bulk length ${length} over the limit of ${MAX_ANNOUNCED_BULK}`);
        }
        // A bulk longer than maxBulkBytes waits for the byte cap, which cuts it (feed, #cutBulk).
        if (next + length + 2 > this.#buffer.length) return INCOMPLETE;
        if (this.#buffer.toString("latin1", next + length, next + length + 2) !== "\r\n") {
          return new Malformed("bulk string not terminated by CRLF");
        }
        return [{ type: "bulk", value: this.#buffer.toString("utf8", next, next + length) }, next + length + 2];
      }
      case "*": {
        const length = this.#length(text, "array");
        if (length instanceof Malformed) return length;
        if (length === -1) return [{ type: "array", value: null }, next];
        if (length < -1 || length > this.#limits.maxArrayLength)
          return new Malformed(`array length ${length} over the limit`);
        if (depth >= this.#limits.maxDepth) return new Malformed("arrays nested too deep");
        const items: RespValue[] = [];
        let cursor = next;
        for (let i = 0; i < length; i++) {
          const item = this.#parse(cursor, depth + 1);
          if (!Array.isArray(item)) return item;
          items.push(item[0]);
          cursor = item[1];
        }
        return [{ type: "array", value: items }, cursor];
      }
      default:
        // RESP3 types: never sent to a client that did not ask with HELLO 3.
        return new Malformed(`unexpected RESP3 reply type "${String.fromCharCode(type)}"`);
    }
  }
}
