// The deployed outputs: email subscriptions filtered to their severity floor (critical only by default),
// the notify function allowed to put events on the configured bus and, when asked, to import findings
// into the monitor account's own Security Hub product.
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { synthesizeApp } from "./synth-helper.ts";

function notifyEnvironment(template: ReturnType<typeof synthesizeApp>["monitorTemplate"]): Record<string, unknown> {
  const functions = Object.values(template.findResources("AWS::Lambda::Function")) as {
    Properties: { Description?: string; Environment?: { Variables: Record<string, unknown> } };
  }[];
  const notify = functions.find((fn) => fn.Properties.Description?.startsWith("Turns recorded state-change events"));
  if (!notify) throw new Error("no notify function");
  return notify.Properties.Environment!.Variables;
}

describe("routing and outputs in the monitor stack", () => {
  it("filters alert emails to critical by default, and to the configured floor", () => {
    const critical = synthesizeApp({ alertEmails: "sec@example.com" }).monitorTemplate;
    critical.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "sec@example.com",
      FilterPolicy: { severity: ["critical"] },
    });
    const high = synthesizeApp({ alertEmails: "sec@example.com", emailMinSeverity: "high" }).monitorTemplate;
    high.hasResourceProperties("AWS::SNS::Subscription", { FilterPolicy: { severity: ["high", "critical"] } });
    expect(() => synthesizeApp({ emailMinSeverity: "urgent" })).toThrow(/emailMinSeverity must be one of/);
  });

  it("lets notify put events on the default bus, and import findings only when asked", () => {
    const plain = synthesizeApp().monitorTemplate;
    expect(notifyEnvironment(plain)).toMatchObject({ EVENT_BUS_NAME: "default", SLACK_MIN_SEVERITY: "info" });
    expect(notifyEnvironment(plain)).not.toHaveProperty("SECURITY_HUB_PRODUCT_ARN");
    plain.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "events:PutEvents",
            Resource: { "Fn::Join": ["", Match.arrayWith([":event-bus/default"])] },
          }),
        ]),
      },
    });
    expect(JSON.stringify(plain.toJSON())).not.toContain("securityhub:BatchImportFindings");

    const withHub = synthesizeApp({ securityHubImport: "true", slackMinSeverity: "high" }).monitorTemplate;
    const env = notifyEnvironment(withHub);
    expect(JSON.stringify(env.SECURITY_HUB_PRODUCT_ARN)).toContain(":product/");
    expect(env.SLACK_MIN_SEVERITY).toBe("high");
    withHub.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: "securityhub:BatchImportFindings" })]),
      },
    });
  });
});
