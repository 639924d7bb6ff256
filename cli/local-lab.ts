// A few real redis-server processes on loopback for the demo (`npm start`): the monitor's own
// lab, so a newcomer sees real states, real alerts and real history without any setup.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function findRedisServer(): string | null {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  const path = found.stdout.trim();
  return found.status === 0 && path.startsWith("/") ? path : null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/**
 * Sends commands to our own lab server on one connection, then QUIT, and returns the raw replies.
 * This is the demo playing a careless operator; the probe itself never writes to a target.
 */
export function labCommands(port: number, commands: string[][]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const encode = (words: string[]) =>
      `*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join("")}`;
    let reply = "";
    socket.setTimeout(3_000, () => socket.destroy(new Error("lab server did not answer")));
    socket.connect(port, "127.0.0.1", () => socket.write([...commands, ["QUIT"]].map(encode).join("")));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
    });
    socket.on("close", () => resolve(reply));
    socket.on("error", reject);
  });
}

export { freePort };

export interface LabServer {
  name: string;
  port: number;
  password: string | null;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export class LocalLab {
  readonly dir = mkdtempSync(join(tmpdir(), "exposure-demo-"));
  readonly servers: LabServer[] = [];
  readonly #binary: string;
  readonly #processes = new Set<ChildProcess>();

  constructor(binary: string) {
    this.#binary = binary;
  }

  async add(name: string, password: string | null): Promise<LabServer> {
    const port = await freePort();
    const lab = this;
    let child: ChildProcess | null = null;
    const server: LabServer = {
      name,
      port,
      password,
      async start() {
        const args = ["--port", `${port}`, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", lab.dir];
        if (server.password) args.push("--requirepass", server.password);
        child = spawn(lab.#binary, args, { stdio: "ignore" });
        lab.#processes.add(child);
        await waitForPort(port);
      },
      async stop() {
        const running = child;
        if (!running) return;
        child = null;
        await new Promise<void>((resolve) => {
          running.once("exit", () => resolve());
          running.kill("SIGTERM");
        });
        lab.#processes.delete(running);
      },
    };
    await server.start();
    this.servers.push(server);
    return server;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
    for (const child of this.#processes) child.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
      socket.connect(port, "127.0.0.1");
    });
    if (up) return;
    if (Date.now() > until) throw new Error(`lab redis-server on port ${port} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
