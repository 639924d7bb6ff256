// The cost breakdown that README.md and docs/readme-deploy.md quote is generated from the last
// `npm run -s bench -- cost` (bench/results/cost.json, bench/cost-docs.ts): this fails when either document
// drifts from that result, when the result's bills do not follow from its measured cycles and the price
// table, or when the deployment the bench priced is not the one the stack synthesizes.
import { readFileSync } from "node:fs";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { COST_DOCS, costBlock, readCostResult } from "../../bench/cost-docs.ts";
import { lastLine, monthlyBill } from "../../bench/cost-model.ts";
import {
  DEFAULT_PROBE_MAX_CONCURRENCY,
  DEFAULT_SCHEDULE_MINUTES,
  ENUMERATE_MEMORY_MB,
  PROBE_MEMORY_MB,
  PROBE_TIMEOUT_SECONDS,
  SHARD_SIZE,
} from "../../infra/sizing.ts";
import { METRICS_NAMESPACE } from "../../shared/metrics-names.ts";
import { synthesizeApp } from "./synth-helper.ts";

// Whitespace collapsed: the formatter pads table cells.
const collapse = (text: string) => text.replace(/ {2,}/g, " ");
const deployDoc = collapse(readFileSync(new URL("../../docs/readme-deploy.md", import.meta.url), "utf8"));
const result = readCostResult();

describe("the cost breakdown in the README and docs/readme-deploy.md", () => {
  let template: Template;
  beforeAll(() => {
    template = synthesizeApp().monitorTemplate;
  });

  it("both documents quote the block generated from bench/results/cost.json, ending in the bench's last line", () => {
    const block = collapse(costBlock(result));
    for (const file of COST_DOCS) expect(collapse(readFileSync(file, "utf8"))).toContain(block);
    expect(lastLine(result)).toMatch(
      /^cost: 100000 IPs every 15 min: \$\d+\.\d\d\/month at 1% exposed, \$\d+\.\d\d\/month at 10% exposed, \$\d+\.\d\d\/month with 1000 coverage gaps; 1000 IPs: \$\d+\.\d\d\/month$/,
    );
  });

  it("every bill follows from its measured cycle and the price table", () => {
    expect(result.bills.map((bill) => bill.key)).toEqual(["A", "B", "C", "D"]);
    for (const bill of result.bills) {
      expect(monthlyBill(bill.cycle, bill.addresses, result.deployment, bill.enumerateSeconds)).toEqual(bill.items);
      // The bench's fleet was classified right, every endpoint.
      expect(bill.cycle.correct).toBe(bill.cycle.targets);
    }
    expect(result.bills.find((bill) => bill.key === "C")?.cycle.gaps).toBe(1000);
  });

  it("priced the deployment the stack synthesizes", () => {
    const d = result.deployment;
    const memory = Object.values(template.findResources("AWS::Lambda::Function")).map(
      (fn) => (fn as { Properties: { MemorySize: number } }).Properties.MemorySize,
    );
    expect(memory).toContain(d.probeMemoryGb * 1024);
    expect(memory).toContain(d.enumerateMemoryGb * 1024);
    expect(d.probeMemoryGb * 1024).toBe(PROBE_MEMORY_MB);
    expect(d.enumerateMemoryGb * 1024).toBe(ENUMERATE_MEMORY_MB);
    expect(d.probeMaxConcurrency).toBe(DEFAULT_PROBE_MAX_CONCURRENCY);
    expect(Object.keys(template.findResources("AWS::KMS::Key"))).toHaveLength(d.kmsKeys);
    expect(Object.keys(template.findResources("AWS::CloudWatch::Alarm"))).toHaveLength(d.alarms);
    expect(Object.keys(template.findResources("AWS::CloudWatch::Dashboard"))).toHaveLength(d.dashboards);
    // Custom metrics: the monitor's own namespace, one per name the alarms watch (the handlers emit no other).
    const alarmed = new Set(
      Object.values(template.findResources("AWS::CloudWatch::Alarm"))
        .map((alarm) => (alarm as { Properties: { Namespace?: string; MetricName?: string } }).Properties)
        .filter((props) => props.Namespace === METRICS_NAMESPACE)
        .map((props) => props.MetricName),
    );
    expect(alarmed.size).toBe(d.customMetrics);
    // Traced functions: one invocation a sweep (enumerate); the probe is not traced.
    const traced = Object.values(template.findResources("AWS::Lambda::Function")).filter(
      (fn) => (fn as { Properties: { TracingConfig?: unknown } }).Properties.TracingConfig !== undefined,
    );
    expect(traced.map((fn) => (fn as { Properties: { MemorySize: number } }).Properties.MemorySize)).not.toContain(
      PROBE_MEMORY_MB,
    );
    expect(d.tracedInvocationsPerSweep).toBe(1);
    // Scan records are stored for the retention the stack gives the enumerate function.
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ SCAN_RETENTION_DAYS: String(d.scanRetentionDays) }) },
    });
  });

  it("states the sizes and schedule it assumes", () => {
    expect(deployDoc).toContain(
      `Probe: ${PROBE_MEMORY_MB.toLocaleString("en-US")} MB; shards of ${SHARD_SIZE} targets`,
    );
    expect(deployDoc).toContain(`Enumerate: ${ENUMERATE_MEMORY_MB} MB`);
    expect(deployDoc).toContain(`The ${PROBE_TIMEOUT_SECONDS} s timeout`);
    expect(deployDoc).toContain(`every ${DEFAULT_SCHEDULE_MINUTES} minutes: 4 × 24 × 30 = **2,880 scans a month**`);
  });
});
