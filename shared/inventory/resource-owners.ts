// Names and owner tags people recognise, read in batches per account and region: an interface's
// tags are not its instance's tags, so instances are described (one filtered call per 200 ids);
// a public RDS interface is matched to its DB instance by subnet and security groups; an ECS
// task interface is named by the service its ECS managed tags name (docs/readme-inventory.md, "Owners").
import { DescribeInstancesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { type DBInstance, DescribeDBInstancesCommand, type RDSClient } from "@aws-sdk/client-rds";
import type { Asset } from "../exposure/model.ts";
import { tagRecord } from "./owners.ts";
import type { InterfaceFacts } from "./path/evaluate.ts";
import { chunks } from "./path/read.ts";
import { readAllPages } from "./readers.ts";

export const DEFAULT_OWNER_TAG_KEYS: readonly string[] = ["team", "owner"];

/** Instance id -> its tags, from ec2:DescribeInstances filtered by instance id. */
export async function readInstanceTags(
  client: EC2Client,
  instanceIds: readonly string[],
  callTimeoutMs: number,
): Promise<Map<string, Record<string, string>>> {
  const tags = new Map<string, Record<string, string>>();
  for (const chunk of chunks([...new Set(instanceIds)].sort())) {
    const pages = await readAllPages(
      callTimeoutMs,
      (NextToken, abortSignal) =>
        client.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: "instance-id", Values: chunk }],
            MaxResults: 1000,
            NextToken,
          }),
          { abortSignal },
        ),
      (page) => page.NextToken,
    );
    for (const instance of pages.flatMap((page) => page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      if (instance.InstanceId) tags.set(instance.InstanceId, tagRecord(instance.Tags) ?? {});
    }
  }
  return tags;
}

/** Every DB instance of the region (rds:DescribeDBInstances, paginated). */
export async function readDbInstances(client: RDSClient, callTimeoutMs: number): Promise<DBInstance[]> {
  const pages = await readAllPages(
    callTimeoutMs,
    (Marker, abortSignal) => client.send(new DescribeDBInstancesCommand({ Marker, MaxRecords: 100 }), { abortSignal }),
    (page) => page.Marker,
  );
  return pages.flatMap((page) => page.DBInstances ?? []);
}

export function isRdsInterface(iface: InterfaceFacts): boolean {
  return iface.description === "RDSNetworkInterface";
}

/**
 * The publicly accessible DB instance behind an RDS interface: the one whose subnet group holds the
 * interface's subnet and whose VPC security groups are the interface's. Null unless exactly one matches.
 */
export function dbInstanceOf(iface: InterfaceFacts, dbs: readonly DBInstance[]): DBInstance | null {
  const groups = [...iface.groupIds].sort().join(",");
  const matches = dbs.filter(
    (db) =>
      db.PubliclyAccessible === true &&
      (db.DBSubnetGroup?.Subnets ?? []).some((subnet) => subnet.SubnetIdentifier === iface.subnetId) &&
      (db.VpcSecurityGroups ?? [])
        .map((group) => group.VpcSecurityGroupId ?? "")
        .sort()
        .join(",") === groups,
  );
  return matches.length === 1 ? matches[0]! : null;
}

/** The configured owner tags present in `tags`, keys matched without regard to case, as tagged. */
export function ownerTags(
  tags: Record<string, string> | undefined,
  keys: readonly string[],
): Record<string, string> | undefined {
  if (tags === undefined || keys.length === 0) return undefined;
  const wanted = new Set(keys.map((key) => key.toLowerCase()));
  const found = Object.entries(tags).filter(([key, value]) => wanted.has(key.toLowerCase()) && value !== "");
  return found.length > 0 ? Object.fromEntries(found.sort(([a], [b]) => (a < b ? -1 : 1))) : undefined;
}

/** The asset with the names and tags of the resource behind the interface, and its owner tags. */
export function withOwner(
  asset: Asset,
  details: { instanceTags?: Record<string, string>; db?: DBInstance | null },
  ownerTagKeys: readonly string[],
): Asset {
  let next: Asset = { ...asset };
  if (details.instanceTags) {
    const tags = { ...(asset.tags ?? {}), ...details.instanceTags };
    next = { ...next, tags, ...(details.instanceTags.Name ? { name: details.instanceTags.Name } : {}) };
  }
  if (details.db?.DBInstanceIdentifier) {
    const dbTags = tagRecord(details.db.TagList);
    next = {
      ...next,
      resourceType: "rds",
      resourceId: details.db.DBInstanceIdentifier,
      name: details.db.DBInstanceIdentifier,
      ...(dbTags ? { tags: { ...(asset.tags ?? {}), ...dbTags } } : {}),
    };
  }
  const ecsService = next.tags?.["aws:ecs:serviceName"];
  if (next.resourceType === "ecs-task" && ecsService) {
    const cluster = next.tags?.["aws:ecs:clusterName"];
    next.name = cluster ? `${cluster}/${ecsService}` : ecsService;
  }
  const owners = ownerTags(next.tags, ownerTagKeys);
  if (owners) next.owners = owners;
  return next;
}
