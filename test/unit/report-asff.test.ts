import { describe, expect, it } from "vitest";
import { type AsffSubject, productArn, toAsff } from "../../shared/report/asff.ts";
import { CVE, OWNER_A, OWNER_B, ROGUE } from "./report-fixture.ts";

// The AwsSecurityFinding rules from the Security Hub API reference that BatchImportFindings enforces.
const REQUIRED = [
  "SchemaVersion",
  "Id",
  "ProductArn",
  "GeneratorId",
  "AwsAccountId",
  "Types",
  "CreatedAt",
  "UpdatedAt",
  "Severity",
  "Title",
  "Description",
  "Resources",
] as const;
const TYPE_NAMESPACES = [
  "Software and Configuration Checks",
  "TTPs",
  "Effects",
  "Unusual Behaviors",
  "Sensitive Data Identifications",
];
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}(:?\d{2})?)$/;

function asffProblems(finding: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const text = (name: string, max: number) => {
    const value = finding[name];
    if (typeof value !== "string" || !/\S/.test(value) || value.length > max) problems.push(`${name}: 1..${max} chars`);
  };
  for (const name of REQUIRED) if (!(name in finding)) problems.push(`${name} missing`);
  if (finding.SchemaVersion !== "2018-10-08") problems.push("SchemaVersion");
  text("Id", 512);
  text("GeneratorId", 512);
  text("Title", 256);
  text("Description", 1024);
  if (typeof finding.AwsAccountId !== "string" || !/^\d{12}$/.test(finding.AwsAccountId)) problems.push("AwsAccountId");
  if (
    typeof finding.ProductArn !== "string" ||
    !/^arn:aws:securityhub:[a-z0-9-]+:\d{12}:product\/\d{12}\/default$/.test(finding.ProductArn)
  ) {
    problems.push("ProductArn");
  }
  const types = finding.Types as unknown;
  if (!Array.isArray(types) || types.length < 1 || types.length > 50) problems.push("Types: 1..50");
  else {
    for (const type of types) {
      const parts = String(type).split("/");
      if (parts.length > 3 || !TYPE_NAMESPACES.includes(parts[0]!)) problems.push(`Types: ${type}`);
    }
  }
  for (const name of ["CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"]) {
    if (name in finding && !TIMESTAMP.test(String(finding[name]))) problems.push(`${name} timestamp`);
  }
  const severity = finding.Severity as { Label?: string } | undefined;
  if (!["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"].includes(severity?.Label ?? ""))
    problems.push("Severity.Label");
  const resources = finding.Resources as Array<Record<string, unknown>> | undefined;
  if (!Array.isArray(resources) || resources.length < 1 || resources.length > 32) problems.push("Resources: 1..32");
  for (const resource of resources ?? []) {
    if (typeof resource.Type !== "string" || !resource.Type || typeof resource.Id !== "string" || !resource.Id) {
      problems.push("Resource Type/Id");
    }
  }
  const compliance = finding.Compliance as { Status?: string; RelatedRequirements?: string[] } | undefined;
  if (compliance && !["PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"].includes(compliance.Status ?? ""))
    problems.push("Compliance.Status");
  if ((compliance?.RelatedRequirements?.length ?? 0) > 32) problems.push("RelatedRequirements: max 32");
  if (!["ACTIVE", "ARCHIVED"].includes(String(finding.RecordState))) problems.push("RecordState");
  const workflow = finding.Workflow as { Status?: string } | undefined;
  if (workflow && !["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"].includes(workflow.Status ?? ""))
    problems.push("Workflow.Status");
  const recommendation = (finding.Remediation as { Recommendation?: { Text?: string } } | undefined)?.Recommendation
    ?.Text;
  if (recommendation !== undefined && recommendation.length > 512) problems.push("Recommendation.Text: max 512");
  return problems;
}

const OPTIONS = { securityHubAccountId: "999999999999", region: "eu-west-1" };

function subject(overrides: Partial<AsffSubject> = {}): AsffSubject {
  return {
    endpoint: "203.0.113.10:6379",
    ip: "203.0.113.10",
    port: 6379,
    state: "open-unauthenticated",
    exposure: "unauthenticated",
    tls: false,
    protocol: { name: "redis", product: "redis", version: "7.2.4", mode: "standalone", role: "master" },
    findings: [],
    asset: OWNER_A,
    since: "2026-03-01T10:00:00.000Z",
    firstSeenAt: "2026-02-01T00:00:00.000Z",
    lastObservedAt: "2026-03-01T12:00:00.000Z",
    ...overrides,
  };
}

describe("ASFF findings", () => {
  it("an unauthenticated endpoint is an ACTIVE, CRITICAL, FAILED finding on its owning instance", () => {
    const finding = toAsff(subject({ exposedSince: "2026-03-01T08:00:00.000Z" }), OPTIONS);
    expect(asffProblems(finding as unknown as Record<string, unknown>)).toEqual([]);
    expect(finding).toMatchObject({
      SchemaVersion: "2018-10-08",
      ProductArn: "arn:aws:securityhub:eu-west-1:999999999999:product/999999999999/default",
      AwsAccountId: "111111111111",
      CreatedAt: "2026-03-01T08:00:00.000Z",
      UpdatedAt: "2026-03-01T12:00:00.000Z",
      FirstObservedAt: "2026-02-01T00:00:00.000Z",
      Severity: { Label: "CRITICAL" },
      RecordState: "ACTIVE",
      Workflow: { Status: "NEW" },
      Compliance: { Status: "FAILED" },
      Network: { Direction: "IN", Protocol: "TCP", DestinationIpV4: "203.0.113.10", DestinationPort: 6379 },
    });
    expect(finding.Types).toContain("Effects/Data Exposure");
    expect(finding.Resources[0]).toEqual({
      Type: "AwsEc2Instance",
      Id: "arn:aws:ec2:eu-west-1:111111111111:instance/i-0aaa",
      Partition: "aws",
      Region: "eu-west-1",
      Details: { Other: { resourceType: "ec2-instance", resourceId: "i-0aaa", name: "cache-a" } },
    });
    expect(finding.Resources[1]).toMatchObject({ Type: "Other", Id: "203.0.113.10:6379" });
  });

  it("a reachable endpoint is HIGH; a critical CVE raises it and is listed as a vulnerability", () => {
    const reachable = toAsff(subject({ state: "auth-required", exposure: "reachable", asset: OWNER_B }), OPTIONS);
    expect(reachable.Severity.Label).toBe("HIGH");
    expect(reachable.Types).toEqual([
      "Software and Configuration Checks/AWS Security Best Practices/Network Reachability",
    ]);
    expect(reachable.Resources[0]!.Type).toBe("AwsEc2NetworkInterface");
    const withCve = toAsff(subject({ state: "auth-required", exposure: "reachable", findings: [CVE, ROGUE] }), OPTIONS);
    expect(withCve.Severity.Label).toBe("CRITICAL");
    expect(withCve.Types).toContain("Software and Configuration Checks/Vulnerabilities/CVE");
    expect(withCve.Vulnerabilities).toEqual([
      { Id: CVE.id, VulnerablePackages: [{ Name: "redis", Version: "7.2.4" }] },
    ]);
    expect(asffProblems(withCve as unknown as Record<string, unknown>)).toEqual([]);
  });

  it("a resolved endpoint is ARCHIVED with the same Id, so the import closes the earlier finding", () => {
    const active = toAsff(subject(), OPTIONS);
    const archived = toAsff(
      subject({
        state: "closed",
        exposure: "none",
        protocol: { name: "redis" },
        since: "2026-03-02T00:00:00.000Z",
        lastObservedAt: "2026-03-02T00:00:00.000Z",
      }),
      OPTIONS,
    );
    expect(archived.Id).toBe(active.Id);
    expect(archived).toMatchObject({
      RecordState: "ARCHIVED",
      Compliance: { Status: "PASSED" },
      Workflow: { Status: "RESOLVED" },
    });
    expect(archived.Severity.Label).toBe("INFORMATIONAL");
    expect(Date.parse(archived.UpdatedAt)).toBeGreaterThan(Date.parse(active.UpdatedAt));
    expect(asffProblems(archived as unknown as Record<string, unknown>)).toEqual([]);
  });

  it("stays within the limits with long, hostile owner data and no owner", () => {
    const long = "x".repeat(5000);
    const finding = toAsff(
      subject({
        asset: { ...OWNER_A, name: `${long}\n<b>`, resourceId: `i-${long}` },
        findings: Array.from({ length: 60 }, (_, i) => ({ ...CVE, id: `CVE-2025-${1000 + i}` })),
        remediation: [long],
      }),
      OPTIONS,
    );
    expect(asffProblems(finding as unknown as Record<string, unknown>)).toEqual([]);
    const unowned = toAsff(subject({ asset: null, ip: "2001:db8::1", endpoint: "[2001:db8::1]:6379" }), {
      ...OPTIONS,
      defaultAwsAccountId: "123456789012",
    });
    expect(unowned.AwsAccountId).toBe("123456789012");
    expect(unowned.Network).toMatchObject({ DestinationIpV6: "2001:db8::1" });
    expect(unowned.Resources).toHaveLength(1);
    expect(asffProblems(unowned as unknown as Record<string, unknown>)).toEqual([]);
  });

  it("the validator itself rejects what Security Hub would", () => {
    const finding = toAsff(subject(), OPTIONS) as unknown as Record<string, unknown>;
    expect(asffProblems({ ...finding, Title: "t".repeat(257) })).toEqual(["Title: 1..256 chars"]);
    expect(asffProblems({ ...finding, Types: ["Bogus/Type"] })).toEqual(["Types: Bogus/Type"]);
    expect(asffProblems({ ...finding, ProductArn: productArn("eu-west-1", "12") })).toEqual(["ProductArn"]);
  });
});
