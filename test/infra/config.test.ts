// Deployment settings from CDK context: lists from cdk.json or `-c key=a,b`, defaults, and one-line errors.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { ConfigError, monitorConfigFromContext } from "../../infra/config.ts";

const configOf = (context: Record<string, unknown>) => monitorConfigFromContext(new App({ context }).node);

describe("monitorConfigFromContext", () => {
  it("defaults to a 15-minute scan of port 6379 with the standard role name and no subscribers", () => {
    expect(configOf({})).toEqual({
      scheduleMinutes: 15,
      probeMaxConcurrency: 20,
      probePorts: [6379],
      alertEmails: [],
      opsEmails: [],
      slack: undefined,
      slackWebhookSecretArn: undefined,
      memberRoleName: "ExposureMonitorReadOnly",
      externalId: "exposure-monitor",
      accounts: "organization",
      regions: [],
      organizationId: undefined,
      logRetentionDays: 30,
      allowedMasters: [],
      memberOrganizationalUnitIds: [],
      stackSetCallAs: "SELF",
      emailMinSeverity: "critical",
      slackMinSeverity: "info",
      eventBusName: "default",
      securityHubImport: false,
      dashboard: false,
      scanRetentionDays: 90,
    });
  });

  it("reads command-line strings and cdk.json values alike", () => {
    const fromCli = configOf({
      scheduleMinutes: "30",
      alertEmails: "a@example.com, b@example.com",
      probePorts: "6379,6380",
    });
    const fromJson = configOf({
      scheduleMinutes: 30,
      alertEmails: ["a@example.com", "b@example.com"],
      probePorts: [6379, 6380],
    });
    expect(fromCli).toEqual(fromJson);
    expect(fromCli.alertEmails).toEqual(["a@example.com", "b@example.com"]);
    expect(fromCli.probePorts).toEqual([6379, 6380]);
    expect(configOf({ accounts: "current" }).accounts).toBe("current");
    expect(configOf({ accounts: "111122223333, 444455556666" }).accounts).toEqual(["111122223333", "444455556666"]);
    expect(configOf({ slackWorkspaceId: "T1", slackChannelId: "C1" }).slack).toEqual({
      workspaceId: "T1",
      channelId: "C1",
    });
  });

  it.each([
    [{ scheduleMinutes: "0" }, /scheduleMinutes must be an integer from 1 to 720/],
    [{ scheduleMinutes: "fifteen" }, /scheduleMinutes/],
    [{ probeMaxConcurrency: "1" }, /probeMaxConcurrency must be an integer from 2 to 1000/],
    [{ probePorts: "6379,70000" }, /bad port 70000/],
    [{ alertEmails: "not-an-address" }, /alertEmails: not an email address/],
    [{ slackWorkspaceId: "T1" }, /slackWorkspaceId and slackChannelId must be given together/],
    [{ slackWebhookSecretArn: "https://hooks.slack.com/x" }, /Secrets Manager secret ARN/],
    [{ accounts: "12345" }, /"12345" is not "organization", "current" or a 12-digit account id/],
    [{ regions: "eu-west-1,mars-1" }, /"mars-1" is not a region name/],
    [{ organizationId: "org-1" }, /o-abc123defg/],
    [{ memberRoleName: "bad role name" }, /memberRoleName/],
    [{ externalId: "x" }, /externalId/],
    [{ allowedMasters: "10.0.0.0/8,master.example.com" }, /allowedMasters: not an IP address or CIDR block/],
  ])("rejects %j", (context, message) => {
    expect(() => configOf(context)).toThrow(ConfigError);
    expect(() => configOf(context)).toThrow(message);
  });
});

describe("infra/app.ts", () => {
  it("exits 2 with one line naming the bad context value, no stack trace", () => {
    const result = spawnSync(process.execPath, ["infra/app.ts"], {
      cwd: new URL("../../", import.meta.url).pathname,
      // How the CDK CLI hands context (-c key=value) to the app.
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ scheduleMinutes: "0" }),
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), "exposure-cdk-")),
      },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe(
      'exposure-monitor: context scheduleMinutes must be an integer from 1 to 720, got "0"',
    );
  });
});
