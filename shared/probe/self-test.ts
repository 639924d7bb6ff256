// A self-test connection over IPv6: the probe function in the scanner VPC proves its IPv6 path to the
// internet before it probes a shard (docs/readme-probe.md, "IPv6 in AWS"). Without the path every IPv6
// target would be a probe error; with a broken path, a silent one could pass for `filtered`. A failed
// self-test fails the shard, which SQS retries and finally dead-letters: nothing is recorded.
import { lookup } from "node:dns/promises";
import { isIP, Socket } from "node:net";

export class SelfTestError extends Error {
  override name = "SelfTestError";
}

/** "host:port" or "[ipv6]:port" -> parts; throws SelfTestError on anything else. */
export function parseSelfTestTarget(spec: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(spec.trim());
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65_535) throw new SelfTestError(`self-test target "${spec}" is not host:port`);
  return { host: (match[1] ?? match[2]) as string, port };
}

/**
 * Connects over TCP to `spec` over IPv6 (a name is resolved to its IPv6 address) within `timeoutMs`,
 * sends nothing and closes. Resolves with the address reached; rejects with SelfTestError.
 */
export async function ipv6SelfTest(spec: string, timeoutMs = 3_000): Promise<string> {
  const { host, port } = parseSelfTestTarget(spec);
  let address = host;
  if (isIP(host) !== 6) {
    try {
      address = (await lookup(host, { family: 6 })).address;
    } catch (error) {
      throw new SelfTestError(`IPv6 self-test: ${host} has no IPv6 address here: ${(error as Error).message}`);
    }
  }
  await new Promise<void>((resolve, reject) => {
    const socket = new Socket();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SelfTestError(`IPv6 self-test: no connection to [${address}]:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new SelfTestError(`IPv6 self-test: [${address}]:${port}: ${error.code ?? error.message}`));
    });
    socket.connect({ host: address, port, family: 6 });
  });
  return address;
}
