// Current exposures as AWS Security Finding Format (ASFF) objects for Security Hub's BatchImportFindings.
// One finding per endpoint, with a stable Id, so a later import updates it: ACTIVE while the endpoint is
// reachable or unauthenticated, ARCHIVED (Compliance PASSED, Workflow RESOLVED) once it is resolved.
// CVEs and compromise indicators of the endpoint ride along as Vulnerabilities and raise the severity.
import { type Asset, type EndpointSnapshot, type Finding, formatEndpoint, type Severity } from "../exposure/model.ts";
import { protocolText } from "../protocols/registry.ts";
import { toIso, toMs } from "./time.ts";

/** The recorded state of one endpoint (a subset of the store's current-state item). */
export interface AsffSubject extends EndpointSnapshot {
  endpoint: string;
  ip: string;
  port: number;
  findings: Finding[];
  asset: Asset | null;
  /** When the recorded state began; for a resolved endpoint, when it was resolved. */
  since: string;
  firstSeenAt: string;
  lastObservedAt: string;
  /** The start of the current exposure window, when it began before `since` (reachable, then unauthenticated). */
  exposedSince?: string;
  /** Remediation lines (shared/alerts/remediation.ts) for the recommendation; a generic line otherwise. */
  remediation?: string[];
}

export interface AsffOptions {
  /** The account that imports into Security Hub (the default product's owner). */
  securityHubAccountId: string;
  /** The Security Hub region to import into. */
  region: string;
  /** Used when an endpoint has no known owner (e.g. a plain target list). */
  defaultAwsAccountId?: string;
}

export type AsffSeverityLabel = "INFORMATIONAL" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL";

export interface AsffResource {
  Type: string;
  Id: string;
  Partition: "aws";
  Region: string;
  Details?: { Other: Record<string, string> };
}

export interface AsffFinding {
  SchemaVersion: "2018-10-08";
  Id: string;
  ProductArn: string;
  GeneratorId: string;
  AwsAccountId: string;
  Types: string[];
  FirstObservedAt: string;
  LastObservedAt: string;
  CreatedAt: string;
  UpdatedAt: string;
  Severity: { Label: AsffSeverityLabel; Original: string };
  Title: string;
  Description: string;
  Remediation: { Recommendation: { Text: string } };
  ProductFields: Record<string, string>;
  Network: {
    Direction: "IN";
    Protocol: "TCP";
    DestinationPort: number;
    DestinationIpV4?: string;
    DestinationIpV6?: string;
  };
  Resources: AsffResource[];
  Compliance: { Status: "FAILED" | "PASSED"; RelatedRequirements: string[] };
  Vulnerabilities?: Array<{ Id: string; VulnerablePackages?: Array<{ Name: string; Version: string }> }>;
  RecordState: "ACTIVE" | "ARCHIVED";
  Workflow: { Status: "NEW" | "RESOLVED" };
}

export const ASFF_SCHEMA_VERSION = "2018-10-08";
/** The generator of an endpoint's findings, per protocol ("exposure-monitor/<protocol>-external-exposure"). */
export function asffGeneratorId(protocol: string): string {
  return `exposure-monitor/${protocol}-external-exposure`;
}
/** Limits from the AwsSecurityFinding API reference. */
export const ASFF_LIMITS = { id: 512, generatorId: 512, title: 256, description: 1024, recommendation: 512 } as const;

const LABELS: Record<Severity, AsffSeverityLabel> = {
  critical: "CRITICAL",
  high: "HIGH",
  medium: "MEDIUM",
  low: "LOW",
  info: "INFORMATIONAL",
};
const RANK: AsffSeverityLabel[] = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

/** Controls this check gives evidence for; Security Hub shows them under Compliance. */
export const RELATED_REQUIREMENTS = [
  "PCI DSS v4.0/1.4.1",
  "PCI DSS v4.0/11.3.2",
  "NIST.800-53.r5 CA-7",
  "NIST.800-53.r5 RA-5",
  "NIST.800-53.r5 SC-7",
  "SOC 2 CC7.1",
];

export function productArn(region: string, accountId: string): string {
  return `arn:aws:securityhub:${region}:${accountId}:product/${accountId}/default`;
}

/** Stable per endpoint (and its protocol): the same endpoint always updates the same Security Hub finding. */
export function asffFindingId(region: string, accountId: string, endpoint: string, protocol: string): string {
  return `arn:aws:securityhub:${region}:${accountId}:exposure-monitor/${protocol}/${endpoint}`;
}

const RESOURCE_TYPES: Record<string, string> = {
  "ec2-instance": "AwsEc2Instance",
  "network-interface": "AwsEc2NetworkInterface",
  "elastic-ip": "AwsEc2Eip",
  "load-balancer": "AwsElbv2LoadBalancer",
  rds: "AwsRdsDbInstance",
  elasticache: "AwsElastiCacheCacheCluster",
  "eks-cluster": "AwsEksCluster",
  "ecs-task": "AwsEcsTask",
};

function resourceArn(asset: Asset): string {
  const { region, accountId, resourceId } = asset;
  if (resourceId.startsWith("arn:")) return resourceId;
  const ec2 = (kind: string) => `arn:aws:ec2:${region}:${accountId}:${kind}/${resourceId}`;
  switch (asset.resourceType) {
    case "ec2-instance":
      return ec2("instance");
    case "network-interface":
      return ec2("network-interface");
    case "elastic-ip":
      return ec2("elastic-ip");
    case "load-balancer":
      return `arn:aws:elasticloadbalancing:${region}:${accountId}:loadbalancer/${resourceId}`;
    default:
      return resourceId;
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Security Hub keys and values: printable, bounded. */
function field(value: string): string {
  return truncate(value.replace(/[\u0000-\u001f]/g, " "), 1024);
}

export function toAsff(subject: AsffSubject, options: AsffOptions): AsffFinding {
  const resolved = subject.exposure === "none";
  const accountId = subject.asset?.accountId ?? options.defaultAwsAccountId ?? options.securityHubAccountId;
  const region = subject.asset?.region ?? options.region;
  const endpoint = subject.endpoint || formatEndpoint(subject.ip, subject.port);
  const cves = subject.findings.filter((finding) => finding.kind === "cve");
  const compromise = subject.findings.filter((finding) => finding.kind === "compromise");

  const severities: AsffSeverityLabel[] = [
    resolved ? "INFORMATIONAL" : subject.exposure === "unauthenticated" ? "CRITICAL" : "HIGH",
    ...(resolved ? [] : subject.findings.map((finding) => LABELS[finding.severity])),
  ];
  const label = severities.reduce((worst, next) => (RANK.indexOf(next) > RANK.indexOf(worst) ? next : worst));

  const types = ["Software and Configuration Checks/AWS Security Best Practices/Network Reachability"];
  if (subject.exposure === "unauthenticated") types.push("Effects/Data Exposure", "TTPs/Initial Access");
  if (cves.length > 0) types.push("Software and Configuration Checks/Vulnerabilities/CVE");
  if (compromise.length > 0) types.push("Effects/Data Exfiltration");

  const what =
    subject.exposure === "unauthenticated"
      ? "answers without authentication"
      : resolved
        ? "no longer answers"
        : "is reachable";
  const protocol = subject.protocol.name;
  const title = truncate(`${protocolText(protocol).label} at ${endpoint} ${what} from the internet`, ASFF_LIMITS.title);
  const { product: name, version } = subject.protocol;
  const product = name !== undefined ? `${name} ${version ?? ""}`.trim() : "unknown";
  const owner = subject.asset
    ? `${subject.asset.resourceType} ${subject.asset.resourceId}${subject.asset.name ? ` (${subject.asset.name})` : ""} in ${subject.asset.accountId}/${subject.asset.region}`
    : "an address with no known owner";
  const description = truncate(
    resolved
      ? `TCP ${subject.port} on ${subject.ip} (${owner}) stopped answering from the internet at ${subject.since}, confirmed by two consecutive observations.`
      : `An external probe found TCP ${subject.port} on ${subject.ip} (${owner}) in state ${subject.state}${subject.tls ? " over TLS" : ""}, server ${product}. ` +
          `Exposed since ${subject.exposedSince ?? subject.since}, last observed ${subject.lastObservedAt}.` +
          (subject.findings.length > 0
            ? ` Findings: ${subject.findings.map((finding) => `${finding.id} (${finding.severity})`).join(", ")}.`
            : ""),
    ASFF_LIMITS.description,
  );
  const recommendation = truncate(
    (subject.remediation && subject.remediation.length > 0
      ? subject.remediation
      : [
          resolved
            ? "No action needed: the port no longer answers from the internet."
            : "Restrict the security group or firewall to known clients, require authentication, and upgrade affected versions.",
        ]
    ).join(" "),
    ASFF_LIMITS.recommendation,
  );

  const resources: AsffResource[] = [];
  if (subject.asset) {
    resources.push({
      Type: RESOURCE_TYPES[subject.asset.resourceType] ?? "Other",
      Id: resourceArn(subject.asset),
      Partition: "aws",
      Region: subject.asset.region,
      Details: {
        Other: {
          resourceType: field(subject.asset.resourceType),
          resourceId: field(subject.asset.resourceId),
          ...(subject.asset.name ? { name: field(subject.asset.name) } : {}),
        },
      },
    });
  }
  resources.push({
    Type: "Other",
    Id: endpoint,
    Partition: "aws",
    Region: region,
    Details: { Other: { endpoint, state: subject.state, exposure: subject.exposure, tls: String(subject.tls) } },
  });

  const createdAt = toIso(toMs(subject.exposedSince ?? subject.since));
  const updatedAt = toIso(Math.max(toMs(subject.lastObservedAt), toMs(subject.since)));
  const finding: AsffFinding = {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: asffFindingId(options.region, options.securityHubAccountId, endpoint, protocol),
    ProductArn: productArn(options.region, options.securityHubAccountId),
    GeneratorId: asffGeneratorId(protocol),
    AwsAccountId: accountId,
    Types: types,
    FirstObservedAt: toIso(toMs(subject.firstSeenAt)),
    LastObservedAt: toIso(toMs(subject.lastObservedAt)),
    CreatedAt: createdAt,
    UpdatedAt: updatedAt,
    Severity: { Label: label, Original: resolved ? "resolved" : subject.exposure },
    Title: title,
    Description: description,
    Remediation: { Recommendation: { Text: recommendation } },
    ProductFields: {
      "exposure-monitor/endpoint": endpoint,
      "exposure-monitor/state": subject.state,
      "exposure-monitor/exposure": subject.exposure,
      "exposure-monitor/server": field(product),
    },
    Network: {
      Direction: "IN",
      Protocol: "TCP",
      DestinationPort: subject.port,
      ...(subject.ip.includes(":") ? { DestinationIpV6: subject.ip } : { DestinationIpV4: subject.ip }),
    },
    Resources: resources,
    Compliance: { Status: resolved ? "PASSED" : "FAILED", RelatedRequirements: RELATED_REQUIREMENTS },
    RecordState: resolved ? "ARCHIVED" : "ACTIVE",
    Workflow: { Status: resolved ? "RESOLVED" : "NEW" },
  };
  if (!resolved && cves.length > 0) {
    finding.Vulnerabilities = cves.map((cve) => ({
      Id: cve.id,
      ...(name !== undefined && version ? { VulnerablePackages: [{ Name: name, Version: version }] } : {}),
    }));
  }
  return finding;
}
