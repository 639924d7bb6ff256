// The probe's promises to hostile peers, checked with real sockets on loopback:
// every probe ends by its deadline, buffers at most its byte cap, and neither the engine nor the
// bench's fixed-timeout runner holds more sockets than its concurrency.
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeAll } from "../../bench/fixed-runner.ts";
import type { Target } from "../../shared/exposure/model.ts";
import { probeTarget } from "../../shared/probe/probe.ts";
import { probeAdaptive } from "../../shared/probe/scheduler.ts";

const servers: Server[] = [];
const sockets = new Set<Socket>();

async function listen(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.resume(); // read (and discard) what the probe sends, so the peer sees its FIN
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

const ports: Record<string, number> = {};
const OPTIONS = { connectTimeoutMs: 500, replyTimeoutMs: 400, deadlineMs: 1_500 };
// The concurrency tests count sockets, not time: their server answers at once, so a loaded machine must
// not turn a late reply into `dropped` (the short timeouts above are for the hostile peers).
const COUNTING = { connectTimeoutMs: 3_000, replyTimeoutMs: 3_000, deadlineMs: 6_000 };

beforeAll(async () => {
  ports.hang = await listen(() => {});
  ports.drip = await listen((socket) => {
    // A valid-looking simple string, one byte every 100 ms, never finished.
    const timer = setInterval(() => socket.write("+"), 100);
    socket.on("close", () => clearInterval(timer));
  });
  ports.endless = await listen((socket) => {
    const chunk = Buffer.alloc(16 * 1024, "A");
    const pump = () => {
      while (!socket.destroyed && socket.write(Buffer.concat([Buffer.from("+"), chunk]))) {}
    };
    socket.on("drain", pump);
    pump();
  });
  ports.hugeBulk = await listen((socket) => socket.write("$999999999\r\n"));
  ports.closeAtOnce = await listen((socket) => socket.destroy());
  let open = 0;
  let peak = 0;
  ports.counting = await listen((socket) => {
    open++;
    peak = Math.max(peak, open);
    ports.peak = peak;
    socket.on("close", () => open--);
    setTimeout(() => socket.end("-NOAUTH Authentication required.\r\n"), 30);
  });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

const target = (port: number | undefined): Target => ({ host: "127.0.0.1", port: port ?? 0 });

describe("probe bounds on loopback", () => {
  it("a peer that accepts and hangs is given up within the deadline", async () => {
    const result = await probeTarget(target(ports.hang), OPTIONS);
    expect(result.state).toBe("dropped");
    expect(result.durationMs).toBeLessThanOrEqual(OPTIONS.deadlineMs + 250);
  });

  it("a one-byte drip is cut at the deadline", async () => {
    const result = await probeTarget(target(ports.drip), OPTIONS);
    expect(result.state).toBe("not-redis");
    expect(result.durationMs).toBeGreaterThanOrEqual(OPTIONS.deadlineMs - 50);
    expect(result.durationMs).toBeLessThanOrEqual(OPTIONS.deadlineMs + 250);
  });

  it("an endless stream is cut at the byte cap", async () => {
    const before = process.memoryUsage().arrayBuffers;
    const result = await probeTarget(target(ports.endless), { ...OPTIONS, maxBytes: 32 * 1024 });
    expect(result.state).toBe("not-redis");
    expect(result.durationMs).toBeLessThan(OPTIONS.deadlineMs);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
  });

  it("a $999999999 bulk header is refused without waiting for the body", async () => {
    const result = await probeTarget(target(ports.hugeBulk), OPTIONS);
    expect(result.state).toBe("not-redis");
    expect(result.reply).toBe("$999999999");
    expect(result.durationMs).toBeLessThan(OPTIONS.replyTimeoutMs);
  });

  it("accept-and-close is dropped after the TLS retry also fails", async () => {
    const result = await probeTarget(target(ports.closeAtOnce), OPTIONS);
    expect(result).toMatchObject({ state: "dropped", exposure: "reachable", tls: false });
  });

  it("a name that does not resolve in time is given up at the deadline", async () => {
    const hanging = () => new Promise<string>(() => {});
    const result = await probeTarget(
      { host: "redis.example.com", port: 6379 },
      { ...OPTIONS, deadlineMs: 300 },
      { resolve: hanging },
    );
    // The resolver failed, not the target: a probe error, never "closed".
    expect(result).toMatchObject({ target: "redis.example.com:6379", state: "probe-error", exposure: null });
    expect(result.reply).toMatch(/name not resolved: no answer within/);
    expect(result.durationMs).toBeLessThan(800);
  });

  it("a closed port is closed, quickly", async () => {
    const probe = await listen(() => {});
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const result = await probeTarget(target(probe), OPTIONS);
    expect(result).toMatchObject({ state: "closed", exposure: "none" });
  });

  it("the batch runner never runs more probes (sockets) than its concurrency, and yields every target once", async () => {
    const many = Array.from({ length: 60 }, () => target(ports.counting));
    let inFlight = 0;
    let peak = 0;
    const countingProbe: typeof probeTarget = async (...args) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await probeTarget(...args);
      } finally {
        inFlight--;
      }
    };
    const seen: string[] = [];
    for await (const result of probeAll(many, { ...COUNTING, concurrency: 7 }, {}, countingProbe)) {
      expect(result.state).toBe("auth-required");
      seen.push(result.target);
    }
    expect(seen).toHaveLength(60);
    expect(peak).toBe(7);
    // The server saw them overlap too (its count lags closes by a tick, hence no upper bound here).
    expect(ports.peak).toBeGreaterThan(1);
  });

  it("the engine never runs more probes (sockets) than its concurrency, and yields every target once", async () => {
    const many = Array.from({ length: 60 }, () => target(ports.counting));
    let inFlight = 0;
    let peak = 0;
    const countingProbe: typeof probeTarget = async (...args) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await probeTarget(...args);
      } finally {
        inFlight--;
      }
    };
    const seen: string[] = [];
    for await (const result of probeAdaptive(many, { concurrency: 7, probeOptions: COUNTING }, {}, countingProbe)) {
      expect(result.state).toBe("auth-required");
      seen.push(result.target);
    }
    expect(seen).toHaveLength(60);
    expect(peak).toBeLessThanOrEqual(7);
    expect(peak).toBeGreaterThan(1);
  });
});
