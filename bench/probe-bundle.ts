// Bundle size and cold start of the probe function: bundles functions/probe.ts as the CDK construct
// does (infra/constructs/monitor-function.ts: ESM, node22, minified, keep names, require banner),
// then imports the bundle in fresh Node processes and reports the median import time, its CPU time
// and the resident memory after import. Usage: node bench/probe-bundle.ts [runs]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const runs = Number(process.argv[2] ?? 7);
const dir = mkdtempSync(join(tmpdir(), "probe-bundle-"));
try {
  const outfile = join(dir, "probe.mjs");
  await build({
    entryPoints: [new URL("../functions/probe.ts", import.meta.url).pathname],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    minify: true,
    keepNames: true,
    mainFields: ["module", "main"],
    banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
    outfile,
    logLevel: "warning",
  });
  const bytes = statSync(outfile).size;
  const gzipped = gzipSync(readFileSync(outfile), { level: 9 }).length;
  const probe = join(dir, "cold.mjs");
  writeFileSync(
    probe,
    `const cpu0 = process.cpuUsage(); const t0 = performance.now();
const mod = await import(${JSON.stringify(outfile)});
const ms = performance.now() - t0; const cpu = process.cpuUsage(cpu0);
if (typeof mod.handler !== "function") throw new Error("no handler export");
console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, rssMb: process.memoryUsage().rss / 1048576 }));\n`,
  );
  // The configuration the function checks at cold start (values are placeholders; nothing is called).
  const env = {
    ...process.env,
    TABLE_NAME: "exposure",
    PROBE_SOCKET_CONCURRENCY: "900",
    AWS_REGION: "us-east-1",
    POWERTOOLS_SERVICE_NAME: "probe",
  };
  const samples: Array<{ ms: number; cpuMs: number; rssMb: number }> = [];
  for (let i = 0; i < runs; i++) {
    const result = spawnSync(process.execPath, [probe], { env, encoding: "utf8" });
    if (result.status !== 0)
      throw new Error(`importing the bundle failed: ${result.stderr.trim().split("\n").slice(-3).join(" ")}`);
    samples.push(JSON.parse(result.stdout));
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const report = {
    bundleBytes: bytes,
    gzipBytes: gzipped,
    runs,
    importMsMedian: Math.round(median(samples.map((s) => s.ms))),
    importCpuMsMedian: Math.round(median(samples.map((s) => s.cpuMs))),
    rssMbAfterImport: Math.round(median(samples.map((s) => s.rssMb))),
  };
  process.stdout.write(
    `probe function bundle: ${(bytes / 1024).toFixed(0)} KiB minified, ${(gzipped / 1024).toFixed(0)} KiB gzipped\n` +
      `cold start (import of the bundle, median of ${runs} fresh processes): ${report.importMsMedian} ms wall, ${report.importCpuMsMedian} ms CPU, ${report.rssMbAfterImport} MB RSS\n` +
      `${JSON.stringify(report)}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
