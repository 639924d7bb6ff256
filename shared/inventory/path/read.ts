// Reads what the path verdicts need for one account and region, batched: the security-group
// rules of every group in use, the network ACLs of every subnet in use and the route tables of
// every VPC in use each take one filtered, paginated call (a few for very large sets), not one per
// address; prefix lists one call each, load balancers one listing plus one listener call per
// load balancer that owns a public address (docs/readme-path.md, "What is read").
import {
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  type EC2Client,
  GetManagedPrefixListEntriesCommand,
  type NetworkAcl,
  type PrefixListEntry,
  type RouteTable,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  type LoadBalancer,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { readAllPages } from "../readers.ts";
import {
  type InterfaceFacts,
  loadBalancerKey,
  loadBalancerKeyOfArn,
  type Read,
  type RegionNetwork,
} from "./evaluate.ts";

/** Values per filter in one call (EC2 accepts 200 values per filter). */
const FILTER_VALUES = 200;

export function chunks<T>(items: readonly T[], size = FILTER_VALUES): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function errorLine(error: unknown): string {
  const name = error instanceof Error ? error.name : "Error";
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim();
  const text = message.startsWith(name) || name === "Error" ? message : `${name}: ${message}`;
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

async function attempt<T>(source: string, read: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    return { ok: false, source, error: errorLine(error) };
  }
}

export interface PathClients {
  ec2: EC2Client;
  elbv2: () => ElasticLoadBalancingV2Client;
}

/** Groups raw API output into what evaluatePath looks up. */
export function regionNetworkOf(raw: {
  rules: Read<readonly SecurityGroupRule[]> | readonly SecurityGroupRule[];
  prefixLists: ReadonlyMap<string, Read<readonly PrefixListEntry[]> | readonly PrefixListEntry[]>;
  networkAcls: Read<readonly NetworkAcl[]> | readonly NetworkAcl[];
  routeTables: Read<readonly RouteTable[]> | readonly RouteTable[];
  loadBalancers:
    | Read<readonly { loadBalancer: LoadBalancer; listeners: Read<readonly Listener[]> }[]>
    | readonly { loadBalancer: LoadBalancer; listeners: Read<readonly Listener[]> }[];
}): RegionNetwork {
  const asRead = <T>(value: Read<T> | T): Read<T> =>
    typeof value === "object" && value !== null && "ok" in value ? (value as Read<T>) : { ok: true, value: value as T };
  const rules = asRead(raw.rules);
  const byGroup = new Map<string, SecurityGroupRule[]>();
  if (rules.ok) {
    for (const rule of rules.value) {
      const list = byGroup.get(rule.GroupId ?? "") ?? [];
      list.push(rule);
      byGroup.set(rule.GroupId ?? "", list);
    }
  }
  const lbs = asRead(raw.loadBalancers);
  const byKey = new Map<string, { loadBalancer: LoadBalancer; listeners: Read<readonly Listener[]> }>();
  if (lbs.ok) {
    for (const entry of lbs.value) {
      const key = loadBalancerKeyOfArn(entry.loadBalancer.LoadBalancerArn);
      if (key !== null) byKey.set(key, entry);
    }
  }
  return {
    rules: rules.ok ? { ok: true, value: byGroup } : rules,
    prefixLists: new Map([...raw.prefixLists].map(([id, entries]) => [id, asRead(entries)])),
    networkAcls: asRead(raw.networkAcls),
    routeTables: asRead(raw.routeTables),
    loadBalancers: lbs.ok ? { ok: true, value: byKey } : lbs,
  };
}

/** Reads the configuration behind `interfaces` (one account and region) and returns it ready to evaluate. */
export async function readRegionNetwork(
  clients: PathClients,
  interfaces: readonly InterfaceFacts[],
  callTimeoutMs: number,
): Promise<RegionNetwork> {
  const distinct = (values: (string | undefined)[]) =>
    [...new Set(values.filter((v): v is string => Boolean(v)))].sort();
  const groupIds = distinct(interfaces.flatMap((iface) => iface.groupIds));
  const subnetIds = distinct(interfaces.map((iface) => iface.subnetId));
  const vpcIds = distinct(interfaces.map((iface) => iface.vpcId));
  const lbKeys = new Set(
    interfaces
      .map((iface) => loadBalancerKey(iface.description))
      .filter((key): key is string => key !== null && !key.startsWith("classic:")),
  );
  const ec2 = clients.ec2;
  const filtered = async <O, T>(
    name: string,
    values: string[],
    call: (filter: { Name: string; Values: string[] }, token: string | undefined, signal: AbortSignal) => Promise<O>,
    token: (page: O) => string | undefined,
    items: (page: O) => T[] | undefined,
  ): Promise<T[]> => {
    const out: T[] = [];
    for (const chunk of chunks(values)) {
      const pages = await readAllPages(
        callTimeoutMs,
        (next, signal) => call({ Name: name, Values: chunk }, next, signal),
        token,
      );
      for (const page of pages) out.push(...(items(page) ?? []));
    }
    return out;
  };

  const [rules, networkAcls, routeTables, loadBalancers] = await Promise.all([
    attempt("ec2:DescribeSecurityGroupRules", () =>
      filtered(
        "group-id",
        groupIds,
        (filter, NextToken, abortSignal) =>
          ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [filter], MaxResults: 1000, NextToken }), {
            abortSignal,
          }),
        (page) => page.NextToken,
        (page) => page.SecurityGroupRules,
      ),
    ),
    attempt("ec2:DescribeNetworkAcls", () =>
      filtered(
        "association.subnet-id",
        subnetIds,
        (filter, NextToken, abortSignal) =>
          ec2.send(new DescribeNetworkAclsCommand({ Filters: [filter], MaxResults: 1000, NextToken }), { abortSignal }),
        (page) => page.NextToken,
        (page) => page.NetworkAcls,
      ),
    ),
    attempt("ec2:DescribeRouteTables", () =>
      filtered(
        "vpc-id",
        vpcIds,
        (filter, NextToken, abortSignal) =>
          ec2.send(new DescribeRouteTablesCommand({ Filters: [filter], MaxResults: 100, NextToken }), { abortSignal }),
        (page) => page.NextToken,
        (page) => page.RouteTables,
      ),
    ),
    lbKeys.size === 0
      ? Promise.resolve({ ok: true as const, value: [] })
      : attempt("elasticloadbalancing:DescribeLoadBalancers", () =>
          readLoadBalancers(clients.elbv2(), lbKeys, callTimeoutMs),
        ),
  ]);

  const prefixListIds = rules.ok ? distinct(rules.value.map((rule) => rule.PrefixListId)) : [];
  const prefixLists = new Map<string, Read<PrefixListEntry[]>>();
  await Promise.all(
    prefixListIds.map(async (PrefixListId) => {
      prefixLists.set(
        PrefixListId,
        await attempt("ec2:GetManagedPrefixListEntries", async () => {
          const pages = await readAllPages(
            callTimeoutMs,
            (NextToken, abortSignal) =>
              ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId, MaxResults: 100, NextToken }), {
                abortSignal,
              }),
            (page) => page.NextToken,
          );
          return pages.flatMap((page) => page.Entries ?? []);
        }),
      );
    }),
  );
  return regionNetworkOf({ rules, prefixLists, networkAcls, routeTables, loadBalancers });
}

/** Every load balancer of the region (one paginated listing), and the listeners of those in `keys`. */
async function readLoadBalancers(
  client: ElasticLoadBalancingV2Client,
  keys: ReadonlySet<string>,
  callTimeoutMs: number,
) {
  const pages = await readAllPages(
    callTimeoutMs,
    (Marker, abortSignal) => client.send(new DescribeLoadBalancersCommand({ Marker, PageSize: 400 }), { abortSignal }),
    (page) => page.NextMarker,
  );
  const wanted = pages
    .flatMap((page) => page.LoadBalancers ?? [])
    .filter((lb) => keys.has(loadBalancerKeyOfArn(lb.LoadBalancerArn) ?? ""));
  return Promise.all(
    wanted.map(async (loadBalancer) => ({
      loadBalancer,
      listeners: await attempt("elasticloadbalancing:DescribeListeners", async () => {
        const listenerPages = await readAllPages(
          callTimeoutMs,
          (Marker, abortSignal) =>
            client.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancer.LoadBalancerArn, Marker }), {
              abortSignal,
            }),
          (page) => page.NextMarker,
        );
        return listenerPages.flatMap((page) => page.Listeners ?? []);
      }),
    })),
  );
}
