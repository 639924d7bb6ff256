// A small server that plays a different Redis per address, so every address of the fleet has a known
// ground truth: it runs inside its own namespace of the fleet, listens on 0.0.0.0:6379 (AnyIP) and
// decides what to be from `socket.localAddress`. Usage: own-redis.ts <personas.json>; prints "ready".
// The replies are the texts captured from redis-server 7.0.15 (docs/readme-probe.md).
import { readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";

/** What one address plays. `delayMs` holds back every byte the server sends (a slow answerer). */
export interface Persona {
  kind: "open" | "auth" | "auth-old" | "protected" | "busy" | "dropped" | "not-redis";
  version?: string;
  delayMs?: number;
}

export const PROTECTED_MODE_REPLY =
  "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart the server with '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/** Splits RESP (multibulk or inline) commands off the front of a buffer; returns them and the rest. */
export function splitCommands(buffer: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let at = 0;
  for (;;) {
    if (at >= buffer.length) break;
    const lineEnd = buffer.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    if (buffer[at] !== 0x2a /* '*' */) {
      commands.push(buffer.toString("latin1", at, lineEnd).trim().split(/\s+/).filter(Boolean));
      at = lineEnd + 2;
      continue;
    }
    const count = Number(buffer.toString("latin1", at + 1, lineEnd));
    let cursor = lineEnd + 2;
    const words: string[] = [];
    let complete = true;
    for (let i = 0; i < count; i++) {
      const headerEnd = buffer.indexOf("\r\n", cursor);
      if (headerEnd < 0 || buffer[cursor] !== 0x24 /* '$' */) {
        complete = false;
        break;
      }
      const length = Number(buffer.toString("latin1", cursor + 1, headerEnd));
      if (headerEnd + 2 + length + 2 > buffer.length) {
        complete = false;
        break;
      }
      words.push(buffer.toString("latin1", headerEnd + 2, headerEnd + 2 + length));
      cursor = headerEnd + 2 + length + 2;
    }
    if (!complete) break;
    commands.push(words);
    at = cursor;
  }
  return { commands, rest: buffer.subarray(at) };
}

const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;

function infoText(version: string, section: string | undefined): string {
  if (section?.toLowerCase() === "commandstats") {
    return "# Commandstats\r\ncmdstat_ping:calls=3,usec=4,usec_per_call=1.33\r\ncmdstat_info:calls=2,usec=90,usec_per_call=45.00\r\n";
  }
  return [
    "# Server",
    `redis_version:${version}`,
    "redis_mode:standalone",
    "os:Linux 6.1.0 x86_64",
    "arch_bits:64",
    "process_id:4242",
    "tcp_port:6379",
    "uptime_in_seconds:86400",
    "executable:/usr/bin/redis-server",
    "",
    "# Replication",
    "role:master",
    "connected_slaves:0",
    "",
  ].join("\r\n");
}

/** The reply to one command, and whether the server closes the connection after it. */
export function replyTo(persona: Persona, words: string[]): { reply: string; close: boolean } {
  const name = (words[0] ?? "").toUpperCase();
  if (name === "QUIT") return { reply: "+OK\r\n", close: true };
  if (persona.kind === "auth") return { reply: "-NOAUTH Authentication required.\r\n", close: false };
  if (persona.kind === "auth-old") return { reply: "-ERR operation not permitted\r\n", close: false };
  if (persona.kind === "not-redis")
    return { reply: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", close: true };
  if (name === "PING") return { reply: "+PONG\r\n", close: false };
  if (name === "INFO") return { reply: bulk(infoText(persona.version ?? "7.0.15", words[1])), close: false };
  return { reply: `-ERR unknown command '${words[0] ?? ""}', with args beginning with: \r\n`, close: false };
}

/** What the server says before any command (protected mode and maxclients answer at accept). */
export function greetingOf(persona: Persona): string | null {
  if (persona.kind === "protected") return PROTECTED_MODE_REPLY;
  if (persona.kind === "busy") return "-ERR max number of clients reached\r\n";
  return null;
}

function serve(socket: Socket, persona: Persona | undefined): void {
  socket.on("error", () => socket.destroy());
  // An address that is not in the table (should not happen) or a "dropped" one: accept, then close without a byte.
  if (!persona || persona.kind === "dropped") {
    socket.end();
    return;
  }
  const delay = persona.delayMs ?? 0;
  const send = (text: string, close: boolean) => {
    const write = () => {
      if (socket.destroyed) return;
      if (close) socket.end(text);
      else socket.write(text);
    };
    if (delay > 0) setTimeout(write, delay);
    else write();
  };
  const greeting = greetingOf(persona);
  if (greeting !== null) {
    send(greeting, true);
    return;
  }
  let pending: Buffer = Buffer.alloc(0);
  let closing = false;
  socket.on("data", (chunk: Buffer) => {
    if (closing) return;
    pending = Buffer.concat([pending, chunk]);
    if (pending.length > 64 * 1024) {
      socket.destroy();
      return;
    }
    const { commands, rest } = splitCommands(pending);
    pending = rest;
    let out = "";
    for (const words of commands) {
      if (words.length === 0) continue;
      const { reply, close } = replyTo(persona, words);
      out += reply;
      if (close) {
        closing = true;
        break;
      }
    }
    if (out) send(out, closing);
  });
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: own-redis.ts <personas.json>\n");
    process.exit(2);
  }
  const personas = new Map(Object.entries(JSON.parse(readFileSync(file, "utf8")) as Record<string, Persona>));
  const server = createServer((socket) => serve(socket, personas.get(socket.localAddress ?? "")));
  server.on("error", (error) => {
    process.stderr.write(`own-redis: ${error.message}\n`);
    process.exit(1);
  });
  server.listen(
    { host: process.env.OWN_REDIS_HOST ?? "0.0.0.0", port: Number(process.env.OWN_REDIS_PORT ?? 6379), backlog: 4096 },
    () => process.stdout.write("ready\n"),
  );
  process.on("SIGTERM", () => process.exit(0));
  process.stdin.on("end", () => process.exit(0)).resume();
}
