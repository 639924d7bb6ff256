// docs/readme-deploy.md quotes numbers from the synthesized template in its cost arithmetic; when the
// stack changes (memory, shard size, alarms, keys, metrics), this fails until the document follows.
import { readFileSync } from "node:fs";
import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_SCHEDULE_MINUTES,
  ENUMERATE_MEMORY_MB,
  PROBE_MEMORY_MB,
  PROBE_TIMEOUT_SECONDS,
  SHARD_SIZE,
} from "../../infra/sizing.ts";
import { EXPOSURES } from "../../shared/exposure/model.ts";
import { ALERT_KINDS, METRIC } from "../../shared/metrics-names.ts";
import { synthesizeApp } from "./synth-helper.ts";

// Whitespace collapsed: the formatter pads table cells.
const doc = readFileSync(new URL("../../docs/readme-deploy.md", import.meta.url), "utf8").replace(/ {2,}/g, " ");
const thousands = (n: number) => n.toLocaleString("en-US");

describe("docs/readme-deploy.md against the synthesized template", () => {
  let template: Template;
  let functionSizes: number[];
  beforeAll(() => {
    template = synthesizeApp().monitorTemplate;
    functionSizes = Object.values(template.findResources("AWS::Lambda::Function")).map(
      (fn) => (fn as { Properties: { MemorySize: number } }).Properties.MemorySize,
    );
  });

  it("uses the deployed function sizes, shard size and timeout", () => {
    expect(functionSizes).toContain(PROBE_MEMORY_MB);
    expect(functionSizes).toContain(ENUMERATE_MEMORY_MB);
    expect(doc).toContain(`Probe: ${thousands(PROBE_MEMORY_MB)} MB; shards of ${SHARD_SIZE} targets`);
    expect(doc).toContain(`Enumerate: ${ENUMERATE_MEMORY_MB} MB`);
    expect(doc).toContain(`The ${PROBE_TIMEOUT_SECONDS} s timeout`);
    expect(doc).toContain(`every ${DEFAULT_SCHEDULE_MINUTES} minutes: 4 × 24 × 30 = **2,880 scans a month**`);
    expect((60 / DEFAULT_SCHEDULE_MINUTES) * 24 * 30).toBe(2880);
    // Shards per scan in the table follow from the shard size.
    expect(doc).toContain(`1,000 → ${Math.ceil(1000 / SHARD_SIZE)}`);
    expect(doc).toContain(`100,000 → ${Math.ceil(100_000 / SHARD_SIZE)}`);
  });

  it("counts the alarms, keys, dashboards and custom metrics the stack creates", () => {
    const alarms = Object.keys(template.findResources("AWS::CloudWatch::Alarm")).length;
    const keys = Object.keys(template.findResources("AWS::KMS::Key")).length;
    const dashboards = Object.keys(template.findResources("AWS::CloudWatch::Dashboard")).length;
    // Every metric name is one metric (AlertsSent's total included); Endpoints is one per exposure level
    // instead, and AlertsSent one more per alert kind.
    const names = Object.values(METRIC).length - 1;
    const customMetrics = names + EXPOSURES.length + ALERT_KINDS.length;
    expect(doc).toContain(`CloudWatch alarms (${alarms} standard)`);
    expect(doc).toContain(`KMS: ${keys} customer keys`);
    expect(doc).toContain(`CloudWatch dashboard (${dashboards})`);
    expect(doc).toContain(
      `custom metrics (${customMetrics}: ${names} names + Endpoints × ${EXPOSURES.length} exposures + AlertsSent × ${ALERT_KINDS.length} kinds)`,
    );
    expect(doc).toContain(`| $0.30 each | **$${(customMetrics * 0.3).toFixed(2)}** |`);
  });
});
