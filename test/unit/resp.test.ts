import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RespReader } from "../../shared/probe/redis/resp.ts";

function readAll(input: string | Buffer, chunkSize = Number.POSITIVE_INFINITY, limits = {}) {
  const reader = new RespReader(limits);
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input, "latin1");
  for (let i = 0; i < bytes.length; i += Math.min(chunkSize, bytes.length)) {
    reader.feed(bytes.subarray(i, i + Math.min(chunkSize, bytes.length)));
  }
  return reader;
}

describe("RespReader", () => {
  it("reads every RESP2 type", () => {
    const reader = readAll(
      "+PONG\r\n-NOAUTH Authentication required.\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n*-1\r\n",
    );
    expect(reader.error).toBeNull();
    expect(reader.values).toEqual([
      { type: "simple", value: "PONG" },
      { type: "error", value: "NOAUTH Authentication required." },
      { type: "integer", value: 42 },
      { type: "bulk", value: "hello" },
      { type: "bulk", value: null },
      {
        type: "array",
        value: [
          { type: "bulk", value: "a" },
          { type: "integer", value: 1 },
        ],
      },
      { type: "array", value: null },
    ]);
  });

  it("reads the same replies whatever the packet boundaries", () => {
    const text = "+PONG\r\n$26\r\n# Server\r\nredis_version:7.0.15\r\n\r\n+OK\r\n";
    const whole = readAll(text).values;
    for (let size = 1; size <= text.length; size++) {
      expect(readAll(text, size).values).toEqual(whole);
    }
  });

  it("keeps an incomplete reply pending without error", () => {
    const reader = readAll("$10\r\nabc");
    expect(reader.values).toEqual([]);
    expect(reader.error).toBeNull();
    reader.feed(Buffer.from("defghij\r\n"));
    expect(reader.values).toEqual([{ type: "bulk", value: "abcdefghij" }]);
  });

  it("rejects a huge bulk header without allocating it", () => {
    const reader = readAll("$999999999\r\n");
    expect(reader.error).toMatch(/bulk length 999999999 over the limit/);
    expect(reader.bufferedBytes).toBe(0);
  });

  it("reads a bulk string longer than the cap up to the cap, keeps it cut, and buffers nothing more", () => {
    const reader = new RespReader({ maxBytes: 1024, maxBulkBytes: 1024 });
    reader.feed(Buffer.from("+PONG\r\n$5000\r\n"));
    for (let i = 0; i < 50; i++) reader.feed(Buffer.alloc(100, "B"));
    expect(reader.error).toMatch(/byte cap of 1024/);
    expect(reader.totalBytes).toBe(1024);
    expect(reader.bufferedBytes).toBe(0);
    expect(reader.values).toHaveLength(2);
    const cut = reader.values[1];
    expect(cut).toMatchObject({ type: "bulk", truncated: true });
    expect(cut?.value).toBe("B".repeat(1024 - "+PONG\r\n$5000\r\n".length));
  });

  it("cuts a bulk string at maxBulkBytes when that is below the cap", () => {
    const reader = readAll(`$300\r\n${"C".repeat(300)}\r\n`, 7, { maxBytes: 4096, maxBulkBytes: 100 });
    expect(reader.error).toMatch(/longer than 100 bytes cut/);
    expect(reader.values).toHaveLength(1);
    expect(reader.values[0]).toMatchObject({ type: "bulk", truncated: true });
    const cut = reader.values[0]?.value as string;
    expect(cut).toMatch(/^C+$/);
    expect(cut.length).toBeGreaterThanOrEqual(100);
    expect(cut.length).toBeLessThan(107);
  });

  it("stops at the byte cap on an endless stream", () => {
    const reader = new RespReader({ maxBytes: 1024 });
    const chunk = Buffer.alloc(100, "A");
    reader.feed(Buffer.from("+"));
    for (let i = 0; i < 100; i++) reader.feed(chunk);
    expect(reader.error).toMatch(/byte cap/);
    expect(reader.totalBytes).toBeLessThanOrEqual(1024);
    expect(reader.bufferedBytes).toBe(0);
  });

  it("flags bytes that are not RESP", () => {
    expect(readAll("HTTP/1.1 400 Bad Request\r\n").error).toMatch(/not RESP/);
    expect(readAll("SSH-2.0-OpenSSH_9.2\r\n").error).toMatch(/not RESP/);
    expect(readAll("*1\r\n$x\r\n").error).toMatch(/bad bulk length/);
    expect(readAll("$3\r\nabcXY").error).toMatch(/not terminated/);
  });

  it("limits nesting and array length", () => {
    expect(readAll("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n").error).toMatch(/nested too deep/);
    expect(readAll("*5000\r\n").error).toMatch(/array length 5000/);
  });

  it("never throws and never buffers beyond its cap, whatever the bytes (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 30 }), (chunks) => {
        const reader = new RespReader({ maxBytes: 4096, maxBulkBytes: 2048 });
        for (const chunk of chunks) reader.feed(chunk);
        expect(reader.bufferedBytes).toBeLessThanOrEqual(4096);
        expect(reader.totalBytes).toBeLessThanOrEqual(4096);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on RESP-shaped input split anywhere (property)", () => {
    const token = fc.constantFrom("+", "-", ":", "$", "*", "\r\n", "1", "-1", "5", "99999", "abc", "\r", "\n", "OK");
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), fc.integer({ min: 1, max: 16 }), (tokens, chunk) => {
        const reader = readAll(tokens.join(""), chunk, { maxBytes: 2048 });
        expect(reader.bufferedBytes).toBeLessThanOrEqual(2048);
      }),
      { numRuns: 500 },
    );
  });
});
