// Who owns a network interface, from what DescribeNetworkInterfaces says about it. One call
// covers instances, NAT gateways, load balancer nodes, ECS tasks, RDS, EKS and more; the
// owner shows in the attachment, the interface type, or the description AWS writes.
import type { NetworkInterface, Tag } from "@aws-sdk/client-ec2";

export interface InterfaceOwner {
  resourceType: string;
  resourceId: string;
  /** A human name when the interface tells one (load balancer or cluster name). */
  name?: string;
}

export function tagRecord(tags: ReadonlyArray<{ Key?: string; Value?: string } | Tag> | undefined) {
  if (tags === undefined || tags.length === 0) return undefined;
  const record: Record<string, string> = {};
  for (const tag of tags) if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? "";
  return record;
}

const DESCRIPTION_OWNERS: ReadonlyArray<{
  pattern: RegExp;
  owner: (match: RegExpExecArray, eniId: string) => InterfaceOwner;
}> = [
  // "ELB app/my-alb/50dc6c495c0c9188", "ELB net/my-nlb/..." or "ELB my-classic-lb"
  {
    pattern: /^ELB (.+)$/,
    owner: (m) => ({ resourceType: "load-balancer", resourceId: m[1]!, name: m[1]!.split("/")[1] ?? m[1]! }),
  },
  { pattern: /(nat-[0-9a-f]+)/, owner: (m) => ({ resourceType: "nat-gateway", resourceId: m[1]! }) },
  { pattern: /^RDSNetworkInterface$/, owner: (_m, id) => ({ resourceType: "rds", resourceId: id }) },
  { pattern: /^RedshiftNetworkInterface$/, owner: (_m, id) => ({ resourceType: "redshift", resourceId: id }) },
  { pattern: /^ElastiCache (\S+)$/, owner: (m) => ({ resourceType: "elasticache", resourceId: m[1]!, name: m[1]! }) },
  { pattern: /^Amazon EKS (\S+)$/, owner: (m) => ({ resourceType: "eks-cluster", resourceId: m[1]!, name: m[1]! }) },
  { pattern: /^(arn:aws[\w-]*:ecs:\S+)$/, owner: (m) => ({ resourceType: "ecs-task", resourceId: m[1]! }) },
  { pattern: /(vpce-[0-9a-f]+)/, owner: (m) => ({ resourceType: "vpc-endpoint", resourceId: m[1]! }) },
];

const TYPE_OWNERS: Readonly<Record<string, string>> = {
  natGateway: "nat-gateway",
  load_balancer: "load-balancer",
  network_load_balancer: "load-balancer",
  gateway_load_balancer: "load-balancer",
  vpc_endpoint: "vpc-endpoint",
  gateway_load_balancer_endpoint: "vpc-endpoint",
  lambda: "lambda",
  global_accelerator_managed: "global-accelerator-endpoint",
  api_gateway_managed: "api-gateway",
  transit_gateway: "transit-gateway",
  quicksight: "quicksight",
};

/** Services that create interfaces on the account's behalf, by the RequesterId they show. */
const REQUESTER_OWNERS: Readonly<Record<string, string>> = {
  "amazon-elb": "load-balancer",
  "amazon-rds": "rds",
  "amazon-redshift": "redshift",
  "amazon-elasticache": "elasticache",
};

/**
 * The most specific owner the interface reveals: the instance it is attached to, then what
 * AWS's description names, then its type or requester, and the interface itself as the last resort.
 */
export function interfaceOwner(eni: NetworkInterface): InterfaceOwner {
  const eniId = eni.NetworkInterfaceId ?? "unknown-interface";
  if (eni.Attachment?.InstanceId) return { resourceType: "ec2-instance", resourceId: eni.Attachment.InstanceId };
  const description = eni.Description ?? "";
  for (const { pattern, owner } of DESCRIPTION_OWNERS) {
    const match = pattern.exec(description);
    if (match) return owner(match, eniId);
  }
  const byType =
    (eni.InterfaceType === undefined ? undefined : TYPE_OWNERS[eni.InterfaceType]) ??
    (eni.RequesterId === undefined ? undefined : REQUESTER_OWNERS[eni.RequesterId]);
  if (byType !== undefined) return { resourceType: byType, resourceId: eniId };
  return { resourceType: "network-interface", resourceId: eniId };
}
