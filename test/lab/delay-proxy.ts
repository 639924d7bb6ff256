// A slow path in user space (this kernel has no netem): accepts on one address and relays to another,
// holding every chunk from the server side for a fixed delay, in order. In front of a TLS-only Redis it
// makes each TLS handshake take at least that long. Run inside the lab's target namespace:
//   node test/lab/delay-proxy.ts LISTEN_IP:PORT UPSTREAM_IP:PORT DELAY_MS
// Prints "ready" once listening; exits when stdin closes or on SIGTERM.
import { connect, createServer, type Socket } from "node:net";

function hostPort(text: string | undefined): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(text ?? "");
  if (!match) throw new Error(`bad address "${text}"`);
  return { host: match[1] as string, port: Number(match[2]) };
}

const [listenAt, upstreamAt, delayText] = process.argv.slice(2);
const listen = hostPort(listenAt);
const upstream = hostPort(upstreamAt);
const delayMs = Number(delayText);
if (!Number.isInteger(delayMs) || delayMs < 0) throw new Error("usage: delay-proxy.ts LISTEN UPSTREAM DELAY_MS");

const server = createServer((client: Socket) => {
  const server = connect(upstream);
  const drop = () => {
    client.destroy();
    server.destroy();
  };
  client.on("error", drop);
  server.on("error", () => setTimeout(drop, delayMs));
  client.on("data", (chunk) => server.write(chunk));
  client.on("end", () => server.end());
  // The server's side, late: data and its end keep their order because every step waits the same.
  server.on("data", (chunk) => setTimeout(() => client.destroyed || client.write(chunk), delayMs));
  server.on("end", () => setTimeout(() => client.destroyed || client.end(), delayMs));
  server.on("close", () => setTimeout(() => client.destroy(), delayMs + 10));
});
server.listen(listen.port, listen.host, () => process.stdout.write("ready\n"));
const stop = () => process.exit(0);
process.stdin.on("end", stop).on("close", stop).resume();
process.on("SIGTERM", stop);
