// What to do about an alert, as short imperative lines, most urgent first. The lines depend on
// the observed state, TLS, the findings and, when the cloud inventory knows it, the resource
// that owns the address, so the reader can act without looking anything up. The network lines are
// written here; what to do about the server itself is the protocol's (shared/protocols/).

import type { AlertKind, Asset, EndpointSnapshot, ExposureLevel, ExposurePath, Finding } from "../exposure/model.ts";
import { closingSteps } from "../inventory/path/text.ts";
import { oneLine, truncate } from "../printable.ts";
import { protocolText } from "../protocols/registry.ts";

/** Who owns the address, in the words alerts and reports use. */
export interface OwnerRef {
  account: string;
  region: string;
  resourceType: string;
  resourceId: string;
  name: string | null;
  /** Owner tags found on the resource (configured keys such as `team`), when any. */
  owners?: Record<string, string>;
  /** The path from the internet on the port, as the inventory resolved it (docs/readme-path.md). */
  path?: ExposurePath;
}

export function ownerRef(asset: Asset | null | undefined): OwnerRef | null {
  if (!asset) return null;
  return {
    account: asset.accountId,
    region: asset.region,
    resourceType: asset.resourceType,
    resourceId: asset.resourceId,
    name: asset.name ?? null,
    ...(asset.owners && Object.keys(asset.owners).length > 0 ? { owners: { ...asset.owners } } : {}),
    ...(asset.path ? { path: asset.path } : {}),
  };
}

type AlertAsset = OwnerRef;

/** Values from the probed server (and tags) go into advice lines: one line, bounded. */
function quoted(text: string, max = 120): string {
  return truncate(oneLine(text), max);
}

export interface RemediationInput {
  kind: AlertKind;
  port: number;
  previous: ExposureLevel | null;
  current: EndpointSnapshot;
  findings: readonly Finding[];
  asset: AlertAsset | null;
}

export function remediationFor(input: RemediationInput): string[] {
  const text = protocolText(input.current.protocol.name);
  const lines =
    input.kind === "resolved" || input.current.exposure === "none"
      ? [...resolvedLines(input), ...text.resolvedSteps(input)]
      : [
          ...text.firstSteps(input),
          ...anomalyLines(input),
          ...pathOrNetworkLines(input),
          ...droppedLines(input),
          ...text.serverSteps(input),
        ];
  return [...new Set(lines)];
}

/** Names the resource that owns the address, e.g. `network interface eni-0abc ("web-1") in account 1111/eu-west-1`. */
export function describeResource(asset: AlertAsset): string {
  const name = asset.name ? ` ("${quoted(asset.name)}")` : "";
  return `${resourceNoun(asset)} ${quoted(asset.resourceId)}${name} in account ${asset.account}/${asset.region}`;
}

const RESOURCE_NOUNS: Record<string, string> = {
  "ec2-instance": "EC2 instance",
  "network-interface": "network interface",
  "elastic-ip": "Elastic IP",
  "nat-gateway": "NAT gateway",
  "load-balancer": "load balancer",
  "global-accelerator": "Global Accelerator",
  "global-accelerator-endpoint": "Global Accelerator",
  "lightsail-instance": "Lightsail instance",
  "lightsail-static-ip": "Lightsail instance",
  elasticache: "ElastiCache cluster",
  rds: "RDS instance",
  "ecs-task": "ECS task",
  "eks-cluster": "EKS cluster",
  "vpc-endpoint": "VPC endpoint",
};

/** A readable noun for the inventory's resource types (shared/inventory), by id prefix when the type is new. */
function resourceNoun(asset: AlertAsset): string {
  const known = RESOURCE_NOUNS[asset.resourceType];
  if (known) return known;
  const id = asset.resourceId;
  if (asset.resourceType.toLowerCase().includes("lightsail")) return "Lightsail instance";
  if (id.startsWith("eni-")) return "network interface";
  if (id.startsWith("i-")) return "EC2 instance";
  if (id.startsWith("eipalloc-")) return "Elastic IP";
  return asset.resourceType;
}

/** Answers while the configuration says closed: say so first, the closing advice is then a guess. */
function anomalyLines({ asset, port }: RemediationInput): string[] {
  const path = asset?.path;
  if (path?.verdict !== "closed") return [];
  return [
    `Anomaly: TCP ${port} answers from the internet although the configuration says it cannot (${quoted(path.reason, 300)}). Find the path the inventory does not see (another interface or address, a proxy or port forward, a rule changed since it was read) before trusting the configuration.`,
  ];
}

/**
 * When the inventory resolved an open path: each rule to change with the command that does it (in the
 * owning account); otherwise the general advice for the resource type.
 */
function pathOrNetworkLines(input: RemediationInput): string[] {
  const { asset, port } = input;
  const steps = asset?.path ? closingSteps(asset.path, port, asset.region) : [];
  if (asset === null || steps.length === 0) return [networkLine(input)];
  return steps.map(
    (step) =>
      `${step.change} in account ${asset.account}${step.command ? `: \`${step.command}\`` : ""}${
        asset.path?.verdict === "open" && asset.path.scope === "restricted"
          ? " (it admits only some public sources)"
          : ""
      }.`,
  );
}

function networkLine({ asset, port }: RemediationInput): string {
  if (!asset) {
    return `Restrict the firewall or security group in front of this address to known client addresses on TCP ${port}, or remove the public address.`;
  }
  const where = describeResource(asset);
  const noun = resourceNoun(asset);
  if (noun === "Lightsail instance") {
    return `Close TCP ${port} in the networking firewall of ${where}, or limit it to known client addresses.`;
  }
  if (noun === "Elastic IP") {
    return `Restrict the security groups of the interface behind ${where} to known client addresses on TCP ${port}; if nothing outside the VPC needs it, release the association.`;
  }
  if (noun === "load balancer" || noun === "Global Accelerator") {
    return `Remove the TCP ${port} listener from ${where}, or restrict its security groups to known client addresses.`;
  }
  return `Restrict the security groups of ${where} to known client addresses on TCP ${port}; if nothing outside the VPC needs it, remove the inbound rule or the public IP.`;
}

/** Accepted but silent: nothing spoke the protocol, so what listens there is the question. */
function droppedLines({ current, port }: RemediationInput): string[] {
  if (current.state !== "dropped") return [];
  return [
    `TCP ${port} accepts connections but nothing answers (an allow-list, a proxy, or a service that needs a client certificate): confirm what listens there and whether it must be public.`,
  ];
}

function resolvedLines({ port }: RemediationInput): string[] {
  return [
    `No network action needed: TCP ${port} no longer answers from the internet (two consecutive observations). Keep the rule or change that closed it.`,
  ];
}
