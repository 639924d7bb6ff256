// The real bundling path (local esbuild, ESM with the createRequire banner) produces handlers that load on
// Node 22 the way Lambda loads them: `import()` of index.mjs in a fresh process, nothing else on the path.
// A packaging mistake (a dynamic require without the banner, a missing dependency, top-level code that
// needs AWS) fails here instead of at the first scheduled scan.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { type SynthesizedApp, synthesizeApp } from "./synth-helper.ts";

const run = promisify(execFile);

/** The environment the stack sets, with placeholder values (nothing is called at load time). */
const FUNCTION_ENV = {
  AWS_REGION: "us-east-1",
  TABLE_NAME: "exposure-monitor",
  SHARD_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/111122223333/shards",
  SHARD_SIZE: "500",
  PROBE_PORTS: "6379",
  MEMBER_ROLE_NAME: "ExposureMonitorReadOnly",
  EXTERNAL_ID: "exposure-monitor",
  ACCOUNTS: "organization",
  PROBE_SOCKET_CONCURRENCY: "500",
  ALERT_TOPIC_ARN: "arn:aws:sns:us-east-1:111122223333:alerts",
  EVENT_BUS_NAME: "default",
  ALERT_RETRY_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/111122223333/alert-retry.fifo",
};

async function loadHandler(file: string, env: Record<string, string>): Promise<string> {
  const script = `import(${JSON.stringify(file)}).then((m) => console.log(typeof m.handler), (e) => console.log("ERROR " + e.message))`;
  // Run from a directory without node_modules: the bundle must carry everything it needs.
  const { stdout } = await run(process.execPath, ["-e", script], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? "", ...env },
    timeout: 60_000,
  });
  return stdout.trim();
}

describe("bundled handlers", () => {
  let synth: SynthesizedApp;
  const bundles = new Map<string, string>();
  beforeAll(() => {
    synth = synthesizeApp({}, { bundle: true });
    const functions = synth.monitorTemplate.findResources("AWS::Lambda::Function");
    for (const [logicalId, fn] of Object.entries(functions)) {
      const key = (fn as { Properties: { Code: { S3Key: string } } }).Properties.Code.S3Key;
      bundles.set(logicalId, join(synth.outdir, `asset.${key.replace(/\.zip$/, "")}`, "index.mjs"));
    }
  }, 180_000);

  it("builds one ESM bundle with a source map per function", () => {
    expect(bundles.size).toBe(5); // enumerate, probe, notify, notify-retry, and probe again for the IPv6 scanner
    for (const file of bundles.values()) {
      expect(existsSync(file)).toBe(true);
      expect(existsSync(`${file}.map`)).toBe(true);
    }
  });

  it("loads each bundle on Node 22 outside the repository, exporting `handler`", async () => {
    for (const file of bundles.values()) {
      expect(await loadHandler(file, FUNCTION_ENV)).toBe("function");
    }
  }, 120_000);

  it("fails to load with the variable's name when the environment is incomplete", async () => {
    const { TABLE_NAME: _omitted, ...withoutTable } = FUNCTION_ENV;
    for (const file of bundles.values()) {
      expect(await loadHandler(file, withoutTable)).toBe("ERROR environment variable TABLE_NAME is required");
    }
  }, 120_000);
});
