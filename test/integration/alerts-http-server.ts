// A real HTTP server on 127.0.0.1 (random port) that answers from a script, for webhook tests.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** What to do with one request: a reply, or "hang" (never answer), or "hang-body" (headers, then nothing). */
export type Reply = { status: number; headers?: Record<string, string>; body?: string } | "hang" | "hang-body";

export interface ScriptedServer {
  url: string;
  requests: RecordedRequest[];
  /** Replies with a 2xx status sent so far. */
  successes: number;
  close(): Promise<void>;
}

/** Replies in order from `script`; once it runs out, the last entry repeats. */
export async function startScriptedServer(script: Reply[], path = "/hook"): Promise<ScriptedServer> {
  const hanging = new Set<ServerResponse>();
  const state: ScriptedServer = { url: "", requests: [], successes: 0, close: async () => {} };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      state.requests.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const reply = script[Math.min(state.requests.length - 1, script.length - 1)]!;
      if (reply === "hang") {
        hanging.add(response);
        return;
      }
      if (reply === "hang-body") {
        hanging.add(response);
        response.writeHead(200, { "content-type": "text/plain", "content-length": "100" });
        response.write("o");
        return;
      }
      if (reply.status >= 200 && reply.status < 300) state.successes++;
      response.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
      response.end(reply.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}${path}`;
  state.close = async () => {
    for (const response of hanging) response.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
