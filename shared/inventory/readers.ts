// One reader per AWS listing. Each returns every address the listing shows, with its owner,
// and throws when the listing cannot be read (the caller turns that into a coverage gap).
import {
  DescribeAddressesCommand,
  type DescribeAddressesCommandInput,
  DescribeNetworkInterfacesCommand,
  type EC2Client,
  type Filter,
} from "@aws-sdk/client-ec2";
import {
  type Accelerator,
  type GlobalAcceleratorClient,
  ListAcceleratorsCommand,
} from "@aws-sdk/client-global-accelerator";
import {
  GetInstancesCommand,
  GetStaticIpsCommand,
  type Instance,
  type LightsailClient,
} from "@aws-sdk/client-lightsail";
import { callWithDeadline } from "../deadline.ts";
import type { Asset } from "../exposure/model.ts";
import { interfaceOwner, tagRecord } from "./owners.ts";
import type { PathSubject } from "./path/evaluate.ts";

/** An address as one listing reports it. `specificity` decides which owner wins when two listings report one address. */
export interface FoundAddress {
  ip: string;
  asset: Asset;
  specificity: number;
  /** The Elastic IP allocation and association behind the address, when it is one. */
  allocationId?: string;
  associationId?: string;
  /** The interface an Elastic IP is associated with (DescribeAddresses). */
  networkInterfaceId?: string;
  /** The subnet of the interface the address is on (DescribeNetworkInterfaces). */
  subnetId?: string;
  /** What holds the address, for the path resolver (docs/readme-path.md); absent: no path is resolved. */
  subject?: PathSubject;
  /** The instance the interface is attached to, for its name and tags. */
  instanceId?: string;
}

/** Owners by how much they tell: an instance beats a bare interface, which beats an Elastic IP record. */
export const SPECIFICITY = { resource: 30, interface: 20, accelerator: 20, allocation: 10 } as const;

export interface ReadContext {
  accountId: string;
  region: string;
  callTimeoutMs: number;
}

/** Pages beyond this, or a token seen twice, mean the listing is not converging. */
const MAX_PAGES = 10_000;

/** Follows a listing's pagination token until it ends, one deadline per page; `onPage` sees each page as it arrives. */
export async function readAllPages<O>(
  callTimeoutMs: number,
  fetchPage: (token: string | undefined, abortSignal: AbortSignal) => Promise<O>,
  nextToken: (page: O) => string | undefined,
  onPage?: (page: O) => void,
): Promise<O[]> {
  const pages: O[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const page = await callWithDeadline(callTimeoutMs, (signal) => fetchPage(token, signal));
    pages.push(page);
    onPage?.(page);
    token = nextToken(page) || undefined;
    if (token !== undefined) {
      if (seen.has(token) || pages.length >= MAX_PAGES) throw new Error("pagination does not end (token repeated)");
      seen.add(token);
    }
  } while (token !== undefined);
  return pages;
}

function asset(ctx: ReadContext, fields: Omit<Asset, "provider" | "accountId" | "region">, region = ctx.region): Asset {
  const result: Asset = { provider: "aws", accountId: ctx.accountId, region, ...fields };
  if (result.name === undefined) delete result.name;
  if (result.tags === undefined) delete result.tags;
  return result;
}

/**
 * ec2:DescribeNetworkInterfaces: every public IPv4 of every private address, and every IPv6 address.
 * `filters` narrows the listing (the fast path reads only the interfaces an event names).
 */
export async function readNetworkInterfaces(
  client: EC2Client,
  ctx: ReadContext,
  filters?: Filter[],
): Promise<FoundAddress[]> {
  const pages = await readAllPages(
    ctx.callTimeoutMs,
    (NextToken, abortSignal) =>
      client.send(new DescribeNetworkInterfacesCommand({ MaxResults: 1000, NextToken, Filters: filters }), {
        abortSignal,
      }),
    (page) => page.NextToken,
  );
  const found: FoundAddress[] = [];
  for (const eni of pages.flatMap((page) => page.NetworkInterfaces ?? [])) {
    const owner = interfaceOwner(eni);
    const tags = tagRecord(eni.TagSet);
    const owned = asset(ctx, { ...owner, name: tags?.Name ?? owner.name, tags });
    const specificity = owner.resourceType === "network-interface" ? SPECIFICITY.interface : SPECIFICITY.resource;
    const subject: PathSubject = {
      kind: "interface",
      iface: {
        networkInterfaceId: eni.NetworkInterfaceId ?? "unknown-interface",
        interfaceType: eni.InterfaceType,
        description: eni.Description,
        subnetId: eni.SubnetId,
        vpcId: eni.VpcId,
        groupIds: (eni.Groups ?? []).flatMap((group) => (group.GroupId ? [group.GroupId] : [])),
      },
    };
    const instanceId = eni.Attachment?.InstanceId;
    const addresses = [eni.Association, ...(eni.PrivateIpAddresses ?? []).map((address) => address.Association)].map(
      (association) => ({
        ip: association?.PublicIp,
        allocationId: association?.AllocationId,
        associationId: association?.AssociationId,
      }),
    );
    addresses.push(
      ...[eni.Ipv6Address, ...(eni.Ipv6Addresses ?? []).map((address) => address.Ipv6Address)].map((ip) => ({
        ip,
        allocationId: undefined,
        associationId: undefined,
      })),
    );
    for (const { ip, allocationId, associationId } of addresses) {
      if (!ip) continue;
      found.push({
        ip,
        asset: owned,
        specificity,
        ...(allocationId ? { allocationId } : {}),
        ...(associationId ? { associationId } : {}),
        ...(eni.SubnetId ? { subnetId: eni.SubnetId } : {}),
        subject,
        ...(instanceId ? { instanceId } : {}),
      });
    }
  }
  return found;
}

/** ec2:DescribeAddresses: Elastic IPs, including those associated with nothing (or the ones `input` names). Not paginated. */
export async function readElasticIps(
  client: EC2Client,
  ctx: ReadContext,
  input: DescribeAddressesCommandInput = {},
): Promise<FoundAddress[]> {
  const output = await callWithDeadline(ctx.callTimeoutMs, (abortSignal) =>
    client.send(new DescribeAddressesCommand(input), { abortSignal }),
  );
  return (output.Addresses ?? []).flatMap((address) => {
    if (!address.PublicIp) return [];
    const tags = tagRecord(address.Tags);
    return [
      {
        ip: address.PublicIp,
        asset: asset(ctx, {
          resourceType: "elastic-ip",
          resourceId: address.AllocationId ?? address.PublicIp,
          name: tags?.Name,
          tags,
        }),
        specificity: SPECIFICITY.allocation,
        ...(address.AllocationId ? { allocationId: address.AllocationId } : {}),
        ...(address.AssociationId ? { associationId: address.AssociationId } : {}),
        ...(address.NetworkInterfaceId ? { networkInterfaceId: address.NetworkInterfaceId } : {}),
        // An associated Elastic IP is also listed by the interface it is on, whose entry wins.
        subject:
          address.AssociationId || address.NetworkInterfaceId || address.InstanceId
            ? { kind: "not-resolved", reason: "the interface holding this Elastic IP was not listed" }
            : { kind: "unassociated", what: `Elastic IP ${address.AllocationId ?? address.PublicIp}` },
      },
    ];
  });
}

const LIGHTSAIL: PathSubject = { kind: "not-resolved", reason: "Lightsail firewalls are not read" };
const ACCELERATOR: PathSubject = { kind: "not-resolved", reason: "Global Accelerator listeners are not read" };

function lightsailTags(tags: ReadonlyArray<{ key?: string; value?: string }> | undefined) {
  return tagRecord(tags?.map((tag) => ({ Key: tag.key, Value: tag.value })));
}

/** lightsail:GetInstances: each instance's public IPv4 and IPv6 addresses. */
export async function readLightsailInstances(client: LightsailClient, ctx: ReadContext): Promise<FoundAddress[]> {
  const pages = await readAllPages(
    ctx.callTimeoutMs,
    (pageToken, abortSignal) => client.send(new GetInstancesCommand({ pageToken }), { abortSignal }),
    (page) => page.nextPageToken,
  );
  return pages.flatMap((page) => page.instances ?? []).flatMap((instance) => lightsailInstanceAddresses(instance, ctx));
}

/** One Lightsail instance's public IPv4 and IPv6 addresses (GetInstances, GetInstance). */
export function lightsailInstanceAddresses(instance: Instance, ctx: ReadContext): FoundAddress[] {
  const tags = lightsailTags(instance.tags);
  const owned = asset(ctx, {
    resourceType: "lightsail-instance",
    resourceId: instance.name ?? instance.arn ?? "unknown-instance",
    name: instance.name,
    tags,
  });
  return [instance.publicIpAddress, ...(instance.ipv6Addresses ?? [])]
    .filter((ip): ip is string => Boolean(ip))
    .map((ip) => ({ ip, asset: owned, specificity: SPECIFICITY.resource, subject: LIGHTSAIL }));
}

/** lightsail:GetStaticIps: static IPs, attached or not. */
export async function readLightsailStaticIps(client: LightsailClient, ctx: ReadContext): Promise<FoundAddress[]> {
  const pages = await readAllPages(
    ctx.callTimeoutMs,
    (pageToken, abortSignal) => client.send(new GetStaticIpsCommand({ pageToken }), { abortSignal }),
    (page) => page.nextPageToken,
  );
  return pages
    .flatMap((page) => page.staticIps ?? [])
    .flatMap((staticIp) =>
      staticIp.ipAddress
        ? [
            {
              ip: staticIp.ipAddress,
              asset: asset(ctx, {
                resourceType: "lightsail-static-ip",
                resourceId: staticIp.name ?? staticIp.ipAddress,
                name: staticIp.name,
              }),
              specificity: SPECIFICITY.allocation,
              subject: staticIp.isAttached
                ? LIGHTSAIL
                : { kind: "unassociated" as const, what: `Lightsail static IP ${staticIp.name ?? staticIp.ipAddress}` },
            },
          ]
        : [],
    );
}

/** globalaccelerator:ListAccelerators: the static anycast IPs of every accelerator (a global resource). */
export async function readGlobalAccelerators(
  client: GlobalAcceleratorClient,
  ctx: Omit<ReadContext, "region">,
): Promise<FoundAddress[]> {
  const pages = await readAllPages(
    ctx.callTimeoutMs,
    (NextToken, abortSignal) =>
      client.send(new ListAcceleratorsCommand({ MaxResults: 100, NextToken }), { abortSignal }),
    (page) => page.NextToken,
  );
  return pages
    .flatMap((page) => page.Accelerators ?? [])
    .flatMap((accelerator) => acceleratorAddresses(accelerator, ctx));
}

/** One accelerator's static anycast IPs (ListAccelerators, DescribeAccelerator). */
export function acceleratorAddresses(accelerator: Accelerator, ctx: Omit<ReadContext, "region">): FoundAddress[] {
  const owned = asset(
    { ...ctx, region: "global" },
    {
      resourceType: "global-accelerator",
      resourceId: accelerator.AcceleratorArn ?? "unknown-accelerator",
      name: accelerator.Name,
    },
  );
  return (accelerator.IpSets ?? [])
    .flatMap((set) => set.IpAddresses ?? [])
    .map((ip) => ({ ip, asset: owned, specificity: SPECIFICITY.accelerator, subject: ACCELERATOR }));
}
