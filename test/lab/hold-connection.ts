// Holds one client connection open to a Redis server (run inside the target namespace), so a
// server with `maxclients 1` is full when the probe arrives. Prints "held" once Redis answered
// PING; exits when stdin closes or on SIGTERM.
import { connect } from "node:net";

const [host, port] = process.argv.slice(2);
if (!host || !port) {
  process.stderr.write("usage: hold-connection.ts HOST PORT\n");
  process.exit(2);
}
const socket = connect(Number(port), host);
let answered = "";
socket.on("connect", () => socket.write("PING\r\n"));
socket.on("data", (chunk: Buffer) => {
  if (answered.length > 64) return;
  answered += chunk.toString("latin1");
  if (answered.startsWith("+PONG\r\n")) process.stdout.write("held\n");
  else if (answered.includes("\r\n")) {
    process.stderr.write(`unexpected reply: ${JSON.stringify(answered)}\n`);
    process.exit(1);
  }
});
socket.on("error", (error) => {
  process.stderr.write(`hold-connection: ${error.message}\n`);
  process.exit(1);
});
socket.on("close", () => process.exit(1));
process.stdin.on("end", () => process.exit(0)).resume();
process.on("SIGTERM", () => process.exit(0));
