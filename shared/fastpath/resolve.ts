// Resolves a change (catalog.ts) to public targets with owners, reading only what the event names, in the
// event's account and region through the member role (docs/fastpath.md). The addresses go through the
// inventory's own target builder (shared/inventory/enumerate.ts toTargets): the same target shape, the same
// public-address check and the same tag scope as the sweep. A read that fails is a coverage gap, never
// an exception: the sweep still covers what the fast path could not read. The addresses found are then
// enriched by the inventory's own step (shared/inventory/enrich.ts: owners and the path from the internet,
// batched for the event's account and region), so a fast-path observation records the same path as a
// sweep's and never flips it.
import {
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  type EC2Client,
  GetManagedPrefixListAssociationsCommand,
  type RouteTable,
} from "@aws-sdk/client-ec2";
import { DescribeAcceleratorCommand } from "@aws-sdk/client-global-accelerator";
import { GetInstanceCommand } from "@aws-sdk/client-lightsail";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { callWithDeadline } from "../deadline.ts";
import type { CoverageGap, Target } from "../exposure/model.ts";
import { canonicalAddress } from "../inventory/address-order.ts";
import type { AccountAccess, AccountClients, InventoryClientFactory } from "../inventory/clients.ts";
import { type InventoryConfig, resolveInventoryConfig } from "../inventory/config.ts";
import { enrichRegion } from "../inventory/enrich.ts";
import { errorText, toTargets } from "../inventory/enumerate.ts";
import {
  acceleratorAddresses,
  type FoundAddress,
  lightsailInstanceAddresses,
  type ReadContext,
  readAllPages,
  readElasticIps,
  readNetworkInterfaces,
} from "../inventory/readers.ts";
import { type Change, type InterfaceFilter, type Lookup, stopKey } from "./catalog.ts";

export interface Resolution {
  targets: Target[];
  /** Per target host: the stop keys (address, allocation, association) whose tombstone cancels its probes. */
  stopKeys: Record<string, string[]>;
  /** Reads that failed: the account (sts:AssumeRole) or a listing of the account and region. */
  gaps: CoverageGap[];
  /** Reads that cost only names or path verdicts (those verdicts are `unknown`), as in the inventory. */
  detailErrors: CoverageGap[];
}

export class FastPathResolver {
  readonly #clients: InventoryClientFactory;
  readonly #config: InventoryConfig;
  #caller: Promise<{ accountId: string; partition: string }> | undefined;

  constructor(clients: InventoryClientFactory, config: Partial<InventoryConfig> = {}) {
    this.#clients = clients;
    this.#config = resolveInventoryConfig(config);
  }

  get config(): InventoryConfig {
    return this.#config;
  }

  /** The monitor's own account (read with its own credentials) and partition, asked once. */
  #callerIdentity() {
    this.#caller ??= callWithDeadline(this.#config.callTimeoutMs, (abortSignal) =>
      this.#clients.sts().send(new GetCallerIdentityCommand({}), { abortSignal }),
    ).then(
      (identity) => ({ accountId: identity.Account ?? "", partition: identity.Arn?.split(":")[1] || "aws" }),
      (error: unknown) => {
        this.#caller = undefined; // asked again next time
        throw error;
      },
    );
    return this.#caller;
  }

  async resolve(change: Change): Promise<Resolution> {
    const empty: Resolution = { targets: [], stopKeys: {}, gaps: [], detailErrors: [] };
    if (change.lookups.length === 0) return empty;
    if (this.#config.excludeAccounts.includes(change.accountId) || !this.#inScope(change)) return empty;
    const where = { accountId: change.accountId, region: change.region };
    let account: AccountClients;
    try {
      const caller = await this.#callerIdentity();
      const access: AccountAccess =
        change.accountId === caller.accountId
          ? { kind: "caller" }
          : {
              kind: "assume-role",
              roleArn: `arn:${caller.partition}:iam::${change.accountId}:role/${this.#config.roleName}`,
              externalId: this.#config.externalId,
            };
      // The factory caches the role's credentials until shortly before they expire (inventory/clients.ts).
      account = await this.#clients.openAccount(change.accountId, access);
    } catch (error) {
      return { ...empty, gaps: [{ accountId: change.accountId, source: "sts:AssumeRole", error: errorText(error) }] };
    }
    const ctx: ReadContext = { ...where, callTimeoutMs: this.#config.callTimeoutMs };
    const found: FoundAddress[] = [];
    const gaps: CoverageGap[] = [];
    await Promise.all(
      change.lookups.map(async (lookup) => {
        try {
          found.push(...(await runLookup(lookup, account, ctx)));
        } catch (error) {
          const failure = error as Error & { source?: string };
          gaps.push({ ...where, source: failure.source ?? sourceOf(lookup), error: errorText(error) });
        }
      }),
    );
    const detailErrors: CoverageGap[] = [];
    const enriched = await enrichRegion(
      account,
      change.region,
      found,
      {
        ports: this.#config.ports,
        ownerTagKeys: this.#config.ownerTagKeys,
        resolvePaths: this.#config.resolvePaths,
        callTimeoutMs: this.#config.callTimeoutMs,
      },
      detailErrors,
    );
    const { targets } = toTargets(enriched, this.#config);
    const stopKeys: Record<string, string[]> = {};
    for (const address of found) {
      const host = canonicalAddress(address.ip);
      const keys = new Set(stopKeys[host] ?? [stopKey.ip(host)]);
      if (address.allocationId) keys.add(stopKey.allocation(address.allocationId));
      if (address.associationId) keys.add(stopKey.association(address.associationId));
      stopKeys[host] = [...keys].sort();
    }
    const hosts = new Set(targets.map((target) => target.host));
    for (const host of Object.keys(stopKeys)) if (!hosts.has(host)) delete stopKeys[host];
    return { targets, stopKeys, gaps, detailErrors };
  }

  #inScope(change: Change): boolean {
    const { accounts, regions, excludeRegions } = this.#config;
    if (accounts.kind === "accounts" && !accounts.accountIds.includes(change.accountId)) return false;
    // Global Accelerator's calls are made in us-west-2 but its addresses are global.
    if (change.lookups.every((lookup) => lookup.kind === "accelerator")) return true;
    if (regions !== null && !regions.includes(change.region)) return false;
    return !excludeRegions.includes(change.region);
  }
}

function sourceOf(lookup: Lookup): string {
  switch (lookup.kind) {
    case "interfaces":
      return "ec2:DescribeNetworkInterfaces";
    case "addresses":
      return "ec2:DescribeAddresses";
    case "network-acls":
      return "ec2:DescribeNetworkAcls";
    case "route-tables":
      return "ec2:DescribeRouteTables";
    case "prefix-list":
      return "ec2:GetManagedPrefixListAssociations";
    case "lightsail-instances":
      return "lightsail:GetInstance";
    case "accelerator":
      return "globalaccelerator:DescribeAccelerator";
  }
}

/** A read's failure names the call that failed (a lookup may chain several). */
async function step<T>(source: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw Object.assign(error instanceof Error ? error : new Error(String(error)), { source });
  }
}

const filtered = (ec2: EC2Client, ctx: ReadContext, filter: InterfaceFilter | "vpc-id", values: string[]) =>
  values.length === 0
    ? Promise.resolve([])
    : step("ec2:DescribeNetworkInterfaces", () =>
        readNetworkInterfaces(ec2, ctx, [{ Name: filter, Values: [...new Set(values)].sort() }]),
      );

export async function runLookup(lookup: Lookup, account: AccountClients, ctx: ReadContext): Promise<FoundAddress[]> {
  const ec2 = account.ec2(ctx.region);
  switch (lookup.kind) {
    case "interfaces":
      return filtered(ec2, ctx, lookup.filter, lookup.values);
    case "addresses": {
      const input = {
        ...(lookup.allocationIds.length > 0 ? { AllocationIds: lookup.allocationIds } : {}),
        ...(lookup.publicIps.length > 0 && lookup.allocationIds.length === 0 ? { PublicIps: lookup.publicIps } : {}),
      };
      const addresses = await step("ec2:DescribeAddresses", () => readElasticIps(ec2, ctx, input));
      // The interface an address is on names its real owner (the instance, the load balancer...).
      const onInterfaces = await filtered(
        ec2,
        ctx,
        "network-interface-id",
        addresses.flatMap((address) => (address.networkInterfaceId ? [address.networkInterfaceId] : [])),
      );
      return [...addresses, ...onInterfaces];
    }
    case "network-acls": {
      const pages = await step("ec2:DescribeNetworkAcls", () =>
        readAllPages(
          ctx.callTimeoutMs,
          (NextToken, abortSignal) =>
            ec2.send(
              new DescribeNetworkAclsCommand({
                Filters: [{ Name: "network-acl-id", Values: lookup.networkAclIds }],
                MaxResults: 1000,
                NextToken,
              }),
              { abortSignal },
            ),
          (page) => page.NextToken,
        ),
      );
      const subnets = pages.flatMap((page) =>
        (page.NetworkAcls ?? []).flatMap((acl) =>
          (acl.Associations ?? []).flatMap((a) => (a.SubnetId ? [a.SubnetId] : [])),
        ),
      );
      return filtered(ec2, ctx, "subnet-id", subnets);
    }
    case "route-tables":
      return routeTableAddresses(ec2, ctx, lookup.filter, lookup.values);
    case "prefix-list": {
      const pages = await step("ec2:GetManagedPrefixListAssociations", () =>
        readAllPages(
          ctx.callTimeoutMs,
          (NextToken, abortSignal) =>
            ec2.send(
              new GetManagedPrefixListAssociationsCommand({
                PrefixListId: lookup.prefixListId,
                MaxResults: 255,
                NextToken,
              }),
              { abortSignal },
            ),
          (page) => page.NextToken,
        ),
      );
      const resources = pages.flatMap((page) =>
        (page.PrefixListAssociations ?? []).flatMap((a) => (a.ResourceId ? [a.ResourceId] : [])),
      );
      const [groups, tables] = await Promise.all([
        filtered(
          ec2,
          ctx,
          "group-id",
          resources.filter((id) => id.startsWith("sg-")),
        ),
        routeTableAddresses(
          ec2,
          ctx,
          "route-table-id",
          resources.filter((id) => id.startsWith("rtb-")),
        ),
      ]);
      return [...groups, ...tables];
    }
    case "lightsail-instances": {
      const lightsail = account.lightsail(ctx.region);
      const instances = await Promise.all(
        lookup.names.map((instanceName) =>
          step("lightsail:GetInstance", () =>
            callWithDeadline(ctx.callTimeoutMs, (abortSignal) =>
              lightsail.send(new GetInstanceCommand({ instanceName }), { abortSignal }),
            ),
          ),
        ),
      );
      return instances.flatMap((output) => (output.instance ? lightsailInstanceAddresses(output.instance, ctx) : []));
    }
    case "accelerator": {
      const client = account.globalAccelerator();
      if (client === null) return [];
      const output = await step("globalaccelerator:DescribeAccelerator", () =>
        callWithDeadline(ctx.callTimeoutMs, (abortSignal) =>
          client.send(new DescribeAcceleratorCommand({ AcceleratorArn: lookup.acceleratorArn }), { abortSignal }),
        ),
      );
      return output.Accelerator ? acceleratorAddresses(output.Accelerator, ctx) : [];
    }
  }
}

/**
 * The interfaces in the subnets that route to an internet gateway through the tables found: each table's
 * associated subnets, and for a VPC's main table every subnet of the VPC without a table of its own.
 */
async function routeTableAddresses(
  ec2: EC2Client,
  ctx: ReadContext,
  filter: "route-table-id" | "route.gateway-id",
  values: string[],
): Promise<FoundAddress[]> {
  if (values.length === 0) return [];
  const describe = (name: string, ids: string[]) =>
    step("ec2:DescribeRouteTables", () =>
      readAllPages(
        ctx.callTimeoutMs,
        (NextToken, abortSignal) =>
          ec2.send(
            new DescribeRouteTablesCommand({ Filters: [{ Name: name, Values: ids }], MaxResults: 100, NextToken }),
            {
              abortSignal,
            },
          ),
        (page) => page.NextToken,
      ),
    ).then((pages) => pages.flatMap((page) => page.RouteTables ?? []));
  const tables = (await describe(filter, values)).filter(routesToInternet);
  const subnets = tables.flatMap((table) =>
    (table.Associations ?? []).flatMap((a) =>
      a.SubnetId && a.AssociationState?.State !== "disassociated" ? [a.SubnetId] : [],
    ),
  );
  const mainVpcs = [
    ...new Set(
      tables
        .filter((table) => (table.Associations ?? []).some((a) => a.Main))
        .flatMap((t) => (t.VpcId ? [t.VpcId] : [])),
    ),
  ];
  const found = await filtered(ec2, ctx, "subnet-id", subnets);
  if (mainVpcs.length === 0) return found;
  // Subnets with an explicit association use that table, not the main one.
  const explicit = new Set(
    (await describe("vpc-id", mainVpcs)).flatMap((table) =>
      (table.Associations ?? []).flatMap((a) => (!a.Main && a.SubnetId ? [a.SubnetId] : [])),
    ),
  );
  const inVpcs = await filtered(ec2, ctx, "vpc-id", mainVpcs);
  return [...found, ...inVpcs.filter((address) => address.subnetId === undefined || !explicit.has(address.subnetId))];
}

function routesToInternet(table: RouteTable): boolean {
  return (table.Routes ?? []).some((route) => route.GatewayId?.startsWith("igw-") && route.State !== "blackhole");
}
