// Builds the real CDK app (infra/monitor-app.ts) in memory for assertions. Bundling is skipped unless asked
// for: CDK's `aws:cdk:bundling-stacks` context (what `cdk synth --exclusively` uses) names the stacks
// whose assets are built, and an empty list builds none, so assertions do not wait for esbuild.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, type CfnElement, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { buildMonitorApp, type MonitorApp } from "../../infra/monitor-app.ts";

export interface SynthesizedApp extends MonitorApp {
  app: App;
  outdir: string;
  monitorTemplate: Template;
  memberTemplate: Template;
}

export interface SynthesizeOptions {
  /** Build the functions' bundles with esbuild (slower). */
  bundle?: boolean;
  /** Change the stacks before synthesis (e.g. add a resource cdk-nag must object to). */
  beforeSynth?: (stacks: MonitorApp) => void;
}

export function synthesizeApp(context: Record<string, unknown> = {}, options: SynthesizeOptions = {}): SynthesizedApp {
  const outdir = mkdtempSync(join(tmpdir(), "exposure-cdk-"));
  const app = new App({
    outdir,
    // CDK's built-in CloudFormation schema check costs ~10 s per synthesis here; cdk-nag still runs.
    builtinCloudFormationValidation: false,
    context: { ...(options.bundle === true ? {} : { "aws:cdk:bundling-stacks": [] }), ...context },
  });
  const stacks = buildMonitorApp(app);
  options.beforeSynth?.(stacks);
  return {
    app,
    outdir,
    ...stacks,
    monitorTemplate: Template.fromStack(stacks.monitor),
    memberTemplate: Template.fromStack(stacks.memberRole),
  };
}

/** The logical id CloudFormation knows a construct's main resource by. */
export function logicalIdOf(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}
