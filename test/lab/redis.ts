// Real redis-server processes inside the lab's target namespace, one per state the probe must
// tell apart. Each gets its own config file (no persistence, a temp dir) and its own address.
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { NetnsLab } from "./netns.ts";
import type { CertificatePaths } from "./tls.ts";

export const REDIS_SERVER = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";
export const REDIS_PORT = 6379;
const READY_TIMEOUT_MS = 30_000;

export interface RedisServer {
  name: string;
  host: string;
  port: number;
  logFile: string;
  child: ChildProcess;
}

/** Config lines every lab server shares: bound to its own address, nothing written to disk. */
export function baseConfig(host: string, dir: string, logFile: string): string[] {
  return [
    `bind ${host}`,
    `port ${REDIS_PORT}`,
    // Off unless a case turns it on: the default (yes) would make every passwordless server "protected".
    "protected-mode no",
    'save ""',
    "appendonly no",
    `dir ${dir}`,
    `logfile ${logFile}`,
    "daemonize no",
  ];
}

/** Config lines for a TLS-only port; `requireClientCert` is `tls-auth-clients yes`. */
export function tlsOnlyConfig(certificate: CertificatePaths, caCert: string, requireClientCert: boolean): string[] {
  return [
    "port 0",
    `tls-port ${REDIS_PORT}`,
    `tls-cert-file ${certificate.cert}`,
    `tls-key-file ${certificate.key}`,
    `tls-ca-cert-file ${caCert}`,
    `tls-auth-clients ${requireClientCert ? "yes" : "no"}`,
  ];
}

/**
 * Starts redis-server inside the target namespace with the base config plus `extra` lines (later
 * lines win), and waits until its log says it accepts connections. `sentinel` starts it as a
 * Sentinel; `executable` runs another copy of the binary (INFO reports its path).
 */
export async function startRedis(
  lab: NetnsLab,
  name: string,
  host: string,
  extra: string[],
  options: { sentinel?: boolean; executable?: string } = {},
): Promise<RedisServer> {
  const dir = join(lab.workDir, "redis", name);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, "redis.log");
  const configFile = join(dir, "redis.conf");
  writeFileSync(configFile, `${[...baseConfig(host, dir, logFile), ...extra].join("\n")}\n`);
  const args = options.sentinel ? [configFile, "--sentinel"] : [configFile];
  const child = lab.spawnIn(lab.targetNs, options.executable ?? REDIS_SERVER, args);
  child.stdout?.resume();
  const stderr: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const server = { name, host, port: REDIS_PORT, logFile, child };
  // A Sentinel logs its ID once it listens; a plain server logs "Ready to accept connections".
  await waitUntilReady(server, stderr, options.sentinel ? /# Sentinel ID is/ : /Ready to accept connections/);
  return server;
}

async function waitUntilReady(server: RedisServer, stderr: string[], ready: RegExp): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const log = () => (existsSync(server.logFile) ? readFileSync(server.logFile, "utf8") : "");
  while (Date.now() < deadline) {
    if (ready.test(log())) return;
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(
        `redis-server "${server.name}" exited (${server.child.exitCode ?? server.child.signalCode}) before it was ready: ${tail(log() + stderr.join(""))}`,
      );
    }
    await sleep(50);
  }
  throw new Error(`redis-server "${server.name}" not ready after ${READY_TIMEOUT_MS} ms: ${tail(log())}`);
}

function tail(text: string): string {
  return text.trim().split("\n").slice(-5).join(" | ");
}
