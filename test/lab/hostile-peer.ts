// Peers the probe must survive or recognise, that a real redis-server cannot be made to play:
// other protocols, tarpits, floods, and replays of Redis replies from other versions and states.
// Run inside the lab's target namespace:
//   node test/lab/hostile-peer.ts '{"203.0.113.30:6379":"http", ...}'   (or a path to such a JSON file)
// Prints "ready" once every listener is up; exits when stdin closes or on SIGTERM.
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";

/** Redis 7.0's INFO server section as captured here, shared by the replays that answer INFO. */
function redisInfo(fields: Record<string, string>, extraSections = ""): string {
  const base: Record<string, string> = {
    redis_version: "7.0.15",
    redis_git_sha1: "00000000",
    redis_git_dirty: "0",
    redis_build_id: "ae4d7c971a948f0",
    redis_mode: "standalone",
    os: "Linux 6.1.0-25-amd64 x86_64",
    arch_bits: "64",
    multiplexing_api: "epoll",
    process_id: "812",
    tcp_port: "6379",
    uptime_in_seconds: "86400",
    uptime_in_days: "1",
    executable: "/usr/bin/redis-server",
    config_file: "/etc/redis/redis.conf",
  };
  const server = Object.entries({ ...base, ...fields })
    .filter(([, value]) => value !== "")
    .map(([key, value]) => `${key}:${value}`);
  const sections = [
    ["# Server", ...server].join("\r\n"),
    ["# Clients", "connected_clients:1", "maxclients:10000", "blocked_clients:0"].join("\r\n"),
    ["# Persistence", `loading:${fields.loading ?? "0"}`, "rdb_changes_since_last_save:0"].join("\r\n"),
    ["# Replication", "role:master", "connected_slaves:0"].join("\r\n"),
    "# Keyspace",
  ];
  return `${sections.join("\r\n\r\n")}\r\n${extraSections}`;
}

function bulk(text: string): string {
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}

/** How a replay answers one command (name upper-cased, arguments as sent). */
type Answer = (command: string[]) => string;

const VALKEY_INFO = redisInfo({
  redis_version: "7.2.4",
  server_name: "valkey",
  valkey_version: "8.0.1",
  server_mode: "standalone",
  executable: "/usr/local/bin/valkey-server",
  config_file: "",
});

const LOADING_INFO = redisInfo({ loading: "1" });

// What a server hit by the rogue-master technique shows: a `system` module (system.exec),
// an executable dropped under /tmp, and the administrative commands the attack ran.
const COMPROMISED_INFO = redisInfo(
  { executable: "/tmp/kinsing/redis-server", config_file: "" },
  "\r\n# Modules\r\nmodule:name=system,ver=1,api=1,filters=0,usedby=[],using=[],options=[]\r\n",
);
const COMPROMISED_COMMANDSTATS = [
  "# Commandstats",
  "cmdstat_slaveof:calls=2,usec=120,usec_per_call=60.00,rejected_calls=0,failed_calls=0",
  "cmdstat_module|load:calls=1,usec=900,usec_per_call=900.00,rejected_calls=0,failed_calls=0",
  "cmdstat_config|set:calls=4,usec=40,usec_per_call=10.00,rejected_calls=0,failed_calls=0",
  "cmdstat_system.exec:calls=12,usec=5000,usec_per_call=416.67,rejected_calls=0,failed_calls=0",
  "",
].join("\r\n");

// Someone tried and failed (module load, replication, config set are refused or fail), then wiped the statistics:
// CONFIG RESETSTAT counts itself after the reset, so its own line is what remains.
const ATTEMPTED_COMMANDSTATS = [
  "# Commandstats",
  "cmdstat_config|resetstat:calls=1,usec=12,usec_per_call=12.00,rejected_calls=0,failed_calls=0",
  "cmdstat_module|load:calls=0,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1",
  "cmdstat_replicaof:calls=0,usec=0,usec_per_call=0.00,rejected_calls=2,failed_calls=0",
  "cmdstat_ping:calls=40,usec=20,usec_per_call=0.50,rejected_calls=0,failed_calls=0",
  "",
].join("\r\n");

// KeyDB 6.3.4 reports Redis's fields with its own version and a few fields of its own.
const KEYDB_INFO = redisInfo(
  {
    redis_version: "6.3.4",
    executable: "/usr/local/bin/keydb-server",
    config_file: "/etc/keydb/keydb.conf",
  },
  "\r\n# KeyDB\r\nmvcc_depth:0\r\n",
);

// Dragonfly answers with a Redis compatibility version and its own.
const DRAGONFLY_INFO = redisInfo({
  redis_version: "7.4.0",
  dragonfly_version: "df-v1.25.4",
  executable: "",
  config_file: "",
});

// INFO values carrying terminal escape sequences (clear screen, set the window title, a C1 CSI).
const ESCAPES_INFO = redisInfo({
  os: "Linux\u001b]0;owned\u0007 6.1.0\u001b[2J",
  executable: "/usr/bin/redis-server\u009b31m",
});

/** A server that answers PING, INFO and INFO commandstats like an unauthenticated Redis. */
function infoServer(info: string, commandstats = "# Commandstats\r\n", pingReply = "+PONG\r\n"): Answer {
  return ([name, section]) => {
    if (name === "PING") return pingReply;
    if (name === "INFO") return bulk(section?.toLowerCase() === "commandstats" ? commandstats : info);
    return `-ERR unknown command '${name}'\r\n`;
  };
}

const everyCommand =
  (reply: string): Answer =>
  () =>
    reply;

// Replies copied from the Redis source (server.c, networking.c) of the versions named.
const REPLAYS: Record<string, Answer> = {
  loading: everyCommand("-LOADING Redis is loading the dataset in memory\r\n"),
  // Redis 7.0 during loading: PING is refused but INFO (flag "loading") answers with loading:1.
  "loading-info": infoServer(LOADING_INFO, "# Commandstats\r\n", "-LOADING Redis is loading the dataset in memory\r\n"),
  "busy-script": everyCommand(
    "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n",
  ),
  "busy-module": everyCommand("-BUSY Redis is busy running a module command.\r\n"),
  "old-auth": everyCommand("-ERR operation not permitted\r\n"),
  "invalid-password": everyCommand("-ERR invalid password\r\n"),
  wrongpass: everyCommand("-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
  masterdown: everyCommand("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"),
  "other-error": everyCommand("-ERR unknown subcommand or wrong number of arguments\r\n"),
  valkey: infoServer(VALKEY_INFO),
  compromised: infoServer(COMPROMISED_INFO, COMPROMISED_COMMANDSTATS),
  attempted: infoServer(redisInfo({}), ATTEMPTED_COMMANDSTATS),
  keydb: infoServer(KEYDB_INFO),
  dragonfly: infoServer(DRAGONFLY_INFO),
  escapes: infoServer(ESCAPES_INFO),
};

// Sent as soon as the connection is accepted, then closed: Redis refuses these before reading.
const GREETINGS: Record<string, string> = {
  "maxclients-replay": "-ERR max number of clients reached\r\n",
  "maxclients-cluster": "-ERR max number of clients + cluster connections reached\r\n",
  // Redis 3.2-6.x wording (networking.c), sent on accept to a non-loopback client.
  "denied-old":
    "-DENIED Redis is running in protected mode because protected mode is enabled, no bind address was specified, no authentication password is requested to clients. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a bind address or an authentication password. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n",
};

const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * Splits complete commands off the front of `buffer`: RESP arrays of bulk strings or inline
 * lines, as redis-server accepts both. Returns the commands and the bytes left over.
 */
function takeCommands(buffer: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let offset = 0;
  const line = (from: number): { text: string; next: number } | null => {
    const end = buffer.indexOf("\r\n", from);
    return end < 0 ? null : { text: buffer.toString("latin1", from, end), next: end + 2 };
  };
  while (offset < buffer.length) {
    if (buffer[offset] !== 0x2a /* '*' */) {
      const inline = line(offset);
      if (!inline) break;
      const words = inline.text.trim().split(/\s+/).filter(Boolean);
      if (words.length > 0) commands.push([words[0]!.toUpperCase(), ...words.slice(1)]);
      offset = inline.next;
      continue;
    }
    const header = line(offset + 1);
    if (!header) break;
    const count = Number(header.text);
    if (!Number.isInteger(count) || count < 0) {
      offset = header.next; // not a command header: skip the line, as Redis would reply with an error
      continue;
    }
    let cursor = header.next;
    const words: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = buffer[cursor] === 0x24 /* '$' */ ? line(cursor + 1) : null;
      if (!length) break;
      const start = length.next;
      const end = start + Number(length.text);
      if (!(end + 2 <= buffer.length)) break;
      words.push(buffer.toString("latin1", start, end));
      cursor = end + 2;
    }
    if (words.length < count) break;
    if (words.length > 0) commands.push([words[0]!.toUpperCase(), ...words.slice(1)]);
    offset = cursor;
  }
  return { commands, rest: buffer.subarray(offset) };
}

function replay(socket: Socket, answer: Answer): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    if (pending.length > MAX_REQUEST_BYTES) return void socket.destroy();
    const { commands, rest } = takeCommands(pending);
    pending = rest;
    for (const command of commands) {
      if (command[0] === "QUIT") {
        socket.end("+OK\r\n");
        return;
      }
      socket.write(answer(command));
    }
  });
}

/** Writes `chunk` again whenever the socket drains, until the peer goes away. */
function flood(socket: Socket, chunk: Buffer): void {
  const pump = () => {
    while (!socket.destroyed && socket.write(chunk)) {
      // keep the kernel buffer full
    }
  };
  socket.on("drain", pump);
  pump();
}

// Bytes no protocol here starts with (a TLS-ish record type, NULs, high bytes).
const GARBAGE = Buffer.from([
  0x00, 0xff, 0x13, 0x37, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x7f, 0x05, 0xc3, 0x28,
]);

type Behaviour = (socket: Socket) => void;

const BEHAVIOURS: Record<string, Behaviour> = {
  http: (socket) => {
    socket.once("data", () => {
      socket.end(
        "HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request",
      );
    });
  },
  ssh: (socket) => {
    socket.write("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    socket.once("data", () => socket.end("Invalid SSH identification string.\r\n"));
  },
  // An allow-list proxy or firewall appliance: accepts, then closes without a byte.
  "accept-close": (socket) => void socket.end(),
  "accept-reset": (socket) => void socket.resetAndDestroy(),
  // Accepts and never answers; reads (and drops) whatever arrives.
  hang: (socket) => void socket.resume(),
  // A tarpit: a Redis-looking reply at one byte a second, so only the deadline ends the probe.
  drip: (socket) => {
    socket.once("data", () => {
      const text = `+PONG\r\n${bulk(redisInfo({}))}`;
      let i = 0;
      const timer = setInterval(() => socket.write(text[i++ % text.length]!), 1_000);
      socket.write(text[i++]!);
      socket.on("close", () => clearInterval(timer));
    });
    socket.resume();
  },
  // A simple-string line that never ends: the reader must cap a line, not wait for its CRLF.
  endless: (socket) => {
    socket.once("data", () => {
      socket.write("+");
      flood(socket, Buffer.alloc(64 * 1024, 0x41));
    });
    socket.resume();
  },
  // A bulk header announcing ~1 GB, then an endless body: the reader must not allocate or buffer it.
  "huge-bulk": (socket) => {
    socket.once("data", () => {
      socket.write("$999999999\r\n");
      flood(socket, Buffer.alloc(64 * 1024, 0x41));
    });
    socket.resume();
  },
  // An array header announcing 2^31-1 elements, then endless elements: no element list without bound.
  "huge-array": (socket) => {
    socket.once("data", () => {
      socket.write("*2147483647\r\n");
      flood(socket, Buffer.from("+PONG\r\n".repeat(8192)));
    });
    socket.resume();
  },
  garbage: (socket) => {
    socket.write(GARBAGE);
    socket.once("data", () => socket.end(GARBAGE));
  },
};
for (const [name, answer] of Object.entries(REPLAYS)) BEHAVIOURS[name] = (socket) => replay(socket, answer);
for (const [name, text] of Object.entries(GREETINGS)) BEHAVIOURS[name] = (socket) => void socket.end(text);

function listen(address: string, behaviour: Behaviour): Promise<Server> {
  const [, host, port] = /^(.+):(\d+)$/.exec(address) ?? [];
  if (!host || !port) throw new Error(`bad listen address "${address}"`);
  const server = createServer((socket) => {
    socket.on("error", () => socket.destroy());
    behaviour(socket);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(port), host, () => resolve(server));
  });
}

async function main(arg: string | undefined): Promise<void> {
  if (!arg) throw new Error("usage: hostile-peer.ts '<JSON {\"ip:port\": behaviour}>' | CONFIG.json");
  const config = JSON.parse(arg.trimStart().startsWith("{") ? arg : readFileSync(arg, "utf8")) as Record<
    string,
    string
  >;
  const servers: Server[] = [];
  for (const [address, name] of Object.entries(config)) {
    const behaviour = BEHAVIOURS[name];
    if (!behaviour) throw new Error(`unknown behaviour "${name}" (known: ${Object.keys(BEHAVIOURS).join(", ")})`);
    servers.push(await listen(address, behaviour));
  }
  process.stdout.write("ready\n");
  const stop = () => process.exit(0);
  process.stdin.on("end", stop).on("close", stop).resume();
  process.on("SIGTERM", stop);
}

main(process.argv[2]).catch((error: unknown) => {
  process.stderr.write(`hostile-peer: ${(error as Error).message}\n`);
  process.exit(1);
});
