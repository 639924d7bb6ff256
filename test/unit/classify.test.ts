import { describe, expect, it } from "vitest";
import { classifyError, classifyExchange, describeReply, replyText } from "../../shared/probe/redis/classify.ts";
import { RespReader } from "../../shared/probe/redis/resp.ts";

/** What the probe would have heard if the peer sent `text`. */
function heard(text: string | Buffer) {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, "latin1");
  const reader = new RespReader();
  reader.feed(bytes);
  return { replies: reader.values, firstBytes: bytes.subarray(0, 256), protocolError: reader.error };
}

const INFO = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n# Replication\r\nrole:master\r\n";
const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;

describe("classifyError: every reply form in docs/readme-probe.md and the README's state table", () => {
  it.each([
    ["NOAUTH Authentication required.", "auth-required"],
    ["ERR operation not permitted", "auth-required"],
    ["WRONGPASS invalid username-password pair or user is disabled.", "auth-required"],
    ["ERR invalid password", "auth-required"],
    ["NOPERM this user has no permissions to run the 'info' command", "auth-required"],
    [
      "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface.",
      "protected-mode",
    ],
    [
      "DENIED Redis is running in protected mode because protected mode is enabled, no bind address was specified, no authentication password is requested to clients.",
      "protected-mode",
    ],
    ["ERR max number of clients reached", "busy"],
    ["ERR max number of clients + cluster connections reached", "busy"],
    ["LOADING Redis is loading the dataset in memory", "busy"],
    ["BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", "busy"],
    ["BUSY Redis is busy running a module command.", "busy"],
    ["MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", "error"],
    ["ERR unknown command 'PING'", "error"],
    ["CROSSSLOT Keys in request don't hash to the same slot", "error"],
  ])("%s -> %s", (message, state) => {
    expect(classifyError(message)).toBe(state);
  });
});

describe("classifyExchange", () => {
  it("INFO answered: unauthenticated, with INFO and commandstats texts", () => {
    const stats = "# Commandstats\r\ncmdstat_ping:calls=1\r\n";
    const result = classifyExchange(heard(`+PONG\r\n${bulk(INFO)}${bulk(stats)}+OK\r\n`));
    expect(result.state).toBe("open-unauthenticated");
    expect(result.info).toContain("redis_version:7.0.15");
    expect(result.commandstats).toContain("cmdstat_ping");
  });

  it("a loading server that still serves INFO is unauthenticated", () => {
    const info = `${INFO}# Persistence\r\nloading:1\r\n`;
    expect(classifyExchange(heard(`-LOADING Redis is loading the dataset in memory\r\n${bulk(info)}`)).state).toBe(
      "open-unauthenticated",
    );
  });

  it("auth required answers NOAUTH to both commands", () => {
    const text = "-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n+OK\r\n";
    expect(classifyExchange(heard(text)).state).toBe("auth-required");
  });

  // PONG to a PING without credentials proves commands run without a password; INFO's refusal does not undo it.
  it.each([
    ["+PONG\r\n-NOPERM this user has no permissions to run the 'info' command\r\n+OK\r\n", /INFO refused: -NOPERM/],
    [
      "+PONG\r\n-ERR unknown command 'INFO', with args beginning with: \r\n+OK\r\n",
      /INFO refused: -ERR unknown command/,
    ],
    ["+PONG\r\n-ERR unknown command `INFO`, with args beginning with: \r\n", /INFO refused: -ERR unknown command/],
    [`+PONG\r\n${bulk("hello")}`, /INFO without version fields/],
  ])("PONG, then INFO refused, renamed or unreadable: unauthenticated (%j)", (text, reason) => {
    const exchange = heard(text);
    const result = classifyExchange(exchange);
    expect(result.state).toBe("open-unauthenticated");
    expect(result.info).toBeUndefined();
    const reply = describeReply(exchange, result);
    expect(reply.startsWith("+PONG (")).toBe(true);
    expect(reply).toMatch(reason);
    expect(reply.length).toBeLessThanOrEqual(200);
    expect(reply).toMatch(/^[\x20-\x7e]*$/);
  });

  it("PONG, then an INFO longer than the byte cap: unauthenticated, with the whole lines that fit", () => {
    const info = `# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n# Replication\r\nrole:slave\r\nmaster_host:${"x".repeat(70_000)}\r\n`;
    const wire = Buffer.from(`+PONG\r\n${bulk(info)}`, "latin1");
    const reader = new RespReader({ maxBytes: 64 * 1024, maxBulkBytes: 64 * 1024 });
    for (let i = 0; i < wire.length; i += 1_400) reader.feed(wire.subarray(i, i + 1_400));
    expect(reader.error).toMatch(/byte cap/);
    const exchange = { replies: reader.values, firstBytes: wire.subarray(0, 256), protocolError: reader.error };
    const result = classifyExchange(exchange);
    expect(result.state).toBe("open-unauthenticated");
    expect(result.info).toContain("redis_version:7.0.15\r\n");
    expect(result.info).toContain("role:slave\r\n");
    expect(result.info).not.toContain("master_host"); // the cut line is left out, not half-read
    expect(describeReply(exchange, result)).toBe("+PONG (INFO cut at the byte cap: facts from the part read)");
  });

  it("PONG, then an auth or busy error, or nothing: as the error says", () => {
    expect(classifyExchange(heard("+PONG\r\n-NOAUTH Authentication required.\r\n")).state).toBe("auth-required");
    expect(classifyExchange(heard("+PONG\r\n-BUSY Redis is busy running a script.\r\n")).state).toBe("busy");
    expect(classifyExchange(heard("+PONG\r\n")).state).toBe("error");
  });

  it("NOPERM to PING itself is a restriction, not proof of open access", () => {
    const text = "-NOPERM this user has no permissions to run the 'ping' command\r\n-NOPERM x\r\n";
    expect(classifyExchange(heard(text)).state).toBe("auth-required");
  });

  it.each([
    ["HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"],
    ["SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"],
    [Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00])],
    ["$999999999\r\n"],
    ["+PO"],
    [":12\r\n"],
  ])("not Redis: %j", (text) => {
    expect(classifyExchange(heard(text)).state).toBe("not-redis");
  });

  it("Valkey and Sentinel INFO are Redis-compatible and unauthenticated", () => {
    expect(
      classifyExchange(heard(`+PONG\r\n${bulk("# Server\r\nredis_version:7.2.4\r\nvalkey_version:8.0.1\r\n")}`)).state,
    ).toBe("open-unauthenticated");
    expect(
      classifyExchange(heard(`+PONG\r\n${bulk("# Server\r\nredis_version:7.0.15\r\nredis_mode:sentinel\r\n")}`)).state,
    ).toBe("open-unauthenticated");
  });
});

describe("replyText", () => {
  it("keeps the first line, printable, at most 200 characters", () => {
    expect(replyText(Buffer.from("-NOAUTH Authentication required.\r\n-NOAUTH x\r\n"))).toBe(
      "-NOAUTH Authentication required.",
    );
    expect(replyText(Buffer.from([0x16, 0x03, 0x41, 0x0a]))).toBe("..A.");
    expect(replyText(Buffer.alloc(300, "A"))).toHaveLength(200);
  });
});
