// cdk-nag's AwsSolutions pack runs inside synthesis (CDK validation plugins): an unacknowledged error makes
// app.synth() throw. The report (validation-report.json in the cloud assembly) lists every acknowledged
// finding with its reason and where it was acknowledged; each must sit beside its resource, not on a stack.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { describe, expect, it } from "vitest";
import { synthesizeApp } from "./synth-helper.ts";

interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    conclusion: string;
    violations: Array<{ ruleName: string }>;
    suppressedViolations: Array<{
      ruleName: string;
      acknowledgedId: string;
      reason: string;
      acknowledgedAt: string;
      violatingConstructs: Array<{ constructPath: string }>;
    }>;
  }>;
}

function readReport(outdir: string): ValidationReport {
  return JSON.parse(readFileSync(join(outdir, "validation-report.json"), "utf8")) as ValidationReport;
}

const FULL_CONTEXT = {
  alertEmails: "security@example.com",
  opsEmails: "ops@example.com",
  slackWorkspaceId: "T0123ABCD",
  slackChannelId: "C0456EFGH",
  slackWebhookSecretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:exposure-slack-webhook-AbCdEf",
  organizationId: "o-abcdefghij",
};

describe("cdk-nag AwsSolutions", () => {
  for (const [name, context] of [
    ["default context", {}],
    ["every option set", FULL_CONTEXT],
  ] as const) {
    it(`reports no unacknowledged finding, and each acknowledgement has a reason beside its resource (${name})`, () => {
      const { outdir } = synthesizeApp(context);
      const report = readReport(outdir);
      const nag = report.pluginReports.find((p) => p.pluginName === "AwsSolutions");
      expect(nag).toBeDefined();
      expect(nag!.violations).toEqual([]);
      expect(nag!.conclusion).toBe("success");
      expect(nag!.suppressedViolations.length).toBeGreaterThan(0);
      for (const finding of nag!.suppressedViolations) {
        expect(finding.reason.length).toBeGreaterThan(30);
        expect(finding.acknowledgedId).toMatch(/^AwsSolutions::AwsSolutions-/);
        // Acknowledged on the resource or the construct that owns it, never on a whole stack.
        expect(finding.acknowledgedAt).toContain("/");
        for (const construct of finding.violatingConstructs) {
          expect(construct.constructPath.startsWith(`${finding.acknowledgedAt}/`)).toBe(true);
        }
      }
    });
  }

  it("fails synthesis on a finding nobody acknowledged", () => {
    expect(() =>
      synthesizeApp({}, { beforeSynth: ({ monitor }) => new Queue(monitor, "QueueWithoutTlsPolicy") }),
    ).toThrow(/AwsSolutions::AwsSolutions-SQS4/);
  });
});
