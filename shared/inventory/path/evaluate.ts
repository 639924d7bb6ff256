// The path verdict for one public address and port, from the configuration the resolver read
// (docs/readme-path.md). Pure: the same facts always give the same verdict. Layers in the order
// a connection from the internet meets them: the resource itself (a NAT gateway takes nothing
// in), a load balancer's listeners, the security groups, the subnet's network ACL, and the
// route back to the source through an internet gateway.
import type { NetworkAcl, PrefixListEntry, RouteTable, SecurityGroupRule } from "@aws-sdk/client-ec2";
import type { Listener, LoadBalancer } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { ExposurePath, PathRule } from "../../exposure/model.ts";
import type { IpFamily } from "../../net/ip.ts";
import {
  addressValue,
  cidrRange,
  cidrSet,
  INTERNET,
  intersect,
  isEmpty,
  normalize,
  type RangeSet,
  sameSet,
  subtract,
  union,
} from "./ranges.ts";

/** A read that may have failed: the value, or what could not be read and why. */
export type Read<T> = { ok: true; value: T } | { ok: false; source: string; error: string };

/** What the resolver read in one account and region. */
export interface RegionNetwork {
  /** Inbound and outbound rules of the security groups in use, by group id. */
  rules: Read<ReadonlyMap<string, readonly SecurityGroupRule[]>>;
  /** Entries of each prefix list referenced by a rule (or a route), by prefix list id. */
  prefixLists: ReadonlyMap<string, Read<readonly PrefixListEntry[]>>;
  networkAcls: Read<readonly NetworkAcl[]>;
  routeTables: Read<readonly RouteTable[]>;
  /** Load balancers by the "app/name/id" part of their ARN, each with its listeners. */
  loadBalancers: Read<ReadonlyMap<string, { loadBalancer: LoadBalancer; listeners: Read<readonly Listener[]> }>>;
}

/** What DescribeNetworkInterfaces says about the interface that holds the address. */
export interface InterfaceFacts {
  networkInterfaceId: string;
  interfaceType?: string;
  description?: string;
  subnetId?: string;
  vpcId?: string;
  groupIds: string[];
}

/** What the address belongs to, as far as the path is concerned. */
export type PathSubject =
  | { kind: "interface"; iface: InterfaceFacts }
  | { kind: "unassociated"; what: string }
  | { kind: "not-resolved"; reason: string };

const TCP = new Set(["6", "tcp", "-1"]);

function portMatches(protocol: string | undefined, from: number | undefined, to: number | undefined, port: number) {
  if (!TCP.has(String(protocol ?? "").toLowerCase())) return false;
  if (protocol === "-1" || from === undefined || to === undefined || from === -1) return true;
  return from <= port && port <= to;
}

function unknown(layer: ExposurePath["layer"], reason: string): ExposurePath {
  return { verdict: "unknown", layer, reason };
}

function closed(layer: ExposurePath["layer"], reason: string): ExposurePath {
  return { verdict: "closed", layer, reason };
}

function readError(read: { source: string; error: string }): string {
  return `${read.source} could not be read (${read.error})`;
}

/** "app/web-alb/50dc6c495c0c9188" from "ELB app/web-alb/50dc6c495c0c9188"; "classic:name" for a Classic Load Balancer. */
export function loadBalancerKey(description: string | undefined): string | null {
  const match = /^ELB (.+)$/.exec(description ?? "");
  if (!match) return null;
  return match[1]!.includes("/") ? match[1]! : `classic:${match[1]!}`;
}

/** The "app/name/id" part of a load balancer ARN. */
export function loadBalancerKeyOfArn(arn: string | undefined): string | null {
  const match = /:loadbalancer\/((?:app|net|gwy)\/[^/]+\/[^/]+)$/.exec(arn ?? "");
  return match ? match[1]! : null;
}

const LISTENER_PROTOCOLS: Record<string, ReadonlySet<string>> = {
  application: new Set(["HTTP", "HTTPS"]),
  network: new Set(["TCP", "TLS", "TCP_UDP"]),
};

export function evaluatePath(subject: PathSubject, address: string, port: number, net: RegionNetwork): ExposurePath {
  if (subject.kind === "unassociated") return closed("resource", `${subject.what} is associated with nothing`);
  if (subject.kind === "not-resolved") return unknown("resource", subject.reason);
  const iface = subject.iface;
  const family = addressValue(address)?.family;
  if (family === undefined) return unknown("resource", `${address} is not an IP address`);
  if (iface.interfaceType === "natGateway") {
    return closed(
      "resource",
      `${iface.networkInterfaceId} is a NAT gateway's interface: it accepts no inbound connections`,
    );
  }

  // A load balancer answers only on its listeners' ports.
  let listener: ExposurePath["listener"];
  let classicListenersUnread: string | null = null;
  const lbKey = loadBalancerKey(iface.description);
  if (lbKey?.startsWith("classic:")) classicListenersUnread = lbKey.slice("classic:".length);
  else if (lbKey !== null) {
    if (!net.loadBalancers.ok) return unknown("load-balancer", readError(net.loadBalancers));
    const found = net.loadBalancers.value.get(lbKey);
    if (found === undefined) return unknown("load-balancer", `load balancer ${lbKey} was not listed`);
    const type = found.loadBalancer.Type ?? "unknown";
    const protocols = LISTENER_PROTOCOLS[type];
    if (protocols === undefined)
      return unknown("load-balancer", `${type} load balancer ${lbKey}: listeners not evaluated`);
    if (!found.listeners.ok) return unknown("load-balancer", readError(found.listeners));
    const match = found.listeners.value.find((l) => l.Port === port && protocols.has(l.Protocol ?? ""));
    const name = found.loadBalancer.LoadBalancerName ?? lbKey;
    if (match === undefined)
      return closed("load-balancer", `${type} load balancer ${name} has no listener on TCP ${port}`);
    listener = { loadBalancer: name, type, protocol: match.Protocol ?? "", port };
  }

  // Security groups: every public source some inbound rule admits on the port.
  const sg = securityGroupSources(iface, family, port, net, lbKey);
  if ("verdict" in sg) return sg;
  const { admitted, rules } = sg;

  // The subnet's network ACL: entries in rule-number order, the first that matches a source decides.
  const acl = networkAclSources(iface, family, port, net, admitted);
  if ("verdict" in acl) return acl;

  // Replies must route back to the source through an internet gateway (longest prefix wins).
  const route = routedSources(iface, family, net, acl.allowed);
  if ("verdict" in route) return route;

  if (classicListenersUnread !== null) {
    return unknown(
      "load-balancer",
      `Classic Load Balancer ${classicListenersUnread}: its listeners are not read, the network path is open`,
    );
  }
  const reached = route.routed;
  const usedRules = rules.filter((rule) => !isEmpty(intersect(rule.set, reached))).map((rule) => rule.rule);
  const usedEntry = acl.entries.find((entry) => !isEmpty(intersect(entry.set, reached)))!;
  const usedRoute = route.routes.find((r) => !isEmpty(intersect(r.set, reached)))!;
  const scope = sameSet(reached, INTERNET[family]) ? "any" : "restricted";
  const path: ExposurePath = {
    verdict: "open",
    scope,
    reason: [
      usedRules.length > 0
        ? `${usedRules.map((r) => `${r.ruleId} (${r.groupId}) admits ${r.source}`).join(", ")} on TCP ${port}`
        : `no security group filters TCP ${port}`,
      `network ACL ${usedEntry.networkAclId} entry ${usedEntry.ruleNumber} allows ${usedEntry.source}`,
      `route table ${usedRoute.routeTableId} sends ${usedRoute.destination} to ${usedRoute.target}`,
    ].join("; "),
    rules: usedRules,
    networkAcl: {
      networkAclId: usedEntry.networkAclId,
      ruleNumber: usedEntry.ruleNumber,
      action: "allow",
      source: usedEntry.source,
    },
    route: {
      routeTableId: usedRoute.routeTableId,
      main: usedRoute.main,
      destination: usedRoute.destination,
      target: usedRoute.target,
    },
  };
  if (listener) path.listener = listener;
  return path;
}

interface RuleSources {
  admitted: RangeSet;
  rules: { rule: PathRule; set: RangeSet }[];
}

function securityGroupSources(
  iface: InterfaceFacts,
  family: IpFamily,
  port: number,
  net: RegionNetwork,
  lbKey: string | null,
): RuleSources | ExposurePath {
  if (iface.groupIds.length === 0) {
    // A Network Load Balancer created without security groups filters nothing itself.
    if (lbKey?.startsWith("net/")) return { admitted: INTERNET[family], rules: [] };
    return unknown("security-group", `${iface.networkInterfaceId} shows no security groups`);
  }
  if (!net.rules.ok) return unknown("security-group", readError(net.rules));
  const rules: RuleSources["rules"] = [];
  const referenced: string[] = [];
  const unreadable: string[] = [];
  for (const groupId of iface.groupIds) {
    for (const rule of net.rules.value.get(groupId) ?? []) {
      if (rule.IsEgress || !portMatches(rule.IpProtocol, rule.FromPort, rule.ToPort, port)) continue;
      const base = {
        groupId,
        ruleId: rule.SecurityGroupRuleId ?? "unknown-rule",
        protocol: rule.IpProtocol ?? "",
        fromPort: rule.FromPort ?? -1,
        toPort: rule.ToPort ?? -1,
      };
      if (rule.ReferencedGroupInfo?.GroupId) {
        referenced.push(`${base.ruleId} admits group ${rule.ReferencedGroupInfo.GroupId} (not a public source)`);
        continue;
      }
      let source: string | undefined;
      let set: RangeSet = [];
      if (rule.PrefixListId) {
        const entries = net.prefixLists.get(rule.PrefixListId);
        if (entries === undefined || !entries.ok) {
          unreadable.push(
            `${base.ruleId}: prefix list ${rule.PrefixListId}${entries && !entries.ok ? ` (${entries.error})` : ""}`,
          );
          continue;
        }
        const cidrs = entries.value.map((entry) => entry.Cidr ?? "");
        set = normalize(cidrs.flatMap((cidr) => cidrSet(cidr, family)));
        const publicCidrs = cidrs.filter((cidr) => !isEmpty(intersect(cidrSet(cidr, family), INTERNET[family])));
        source = `${rule.PrefixListId} (${publicCidrs.join(", ")})`;
      } else {
        source = family === "ipv4" ? rule.CidrIpv4 : rule.CidrIpv6;
        set = cidrSet(source, family);
      }
      const publicSet = intersect(set, INTERNET[family]);
      if (source === undefined || isEmpty(publicSet)) continue;
      rules.push({ rule: { ...base, source }, set: publicSet });
    }
  }
  const admitted = normalize(rules.flatMap((rule) => rule.set));
  if (!isEmpty(admitted)) return { admitted, rules };
  if (unreadable.length > 0) return unknown("security-group", `could not resolve ${unreadable.join("; ")}`);
  const note = referenced.length > 0 ? ` (${referenced.join("; ")})` : "";
  return closed(
    "security-group",
    `no inbound rule of ${iface.groupIds.join(", ")} admits a public ${family === "ipv4" ? "IPv4" : "IPv6"} source on TCP ${port}${note}`,
  );
}

interface AclEntryUse {
  networkAclId: string;
  ruleNumber: number | "*";
  source: string;
  set: RangeSet;
}

/** AWS lists the default ("*") rule of every ACL with this number. */
const DEFAULT_RULE_NUMBER = 32767;

function networkAclSources(
  iface: InterfaceFacts,
  family: IpFamily,
  port: number,
  net: RegionNetwork,
  admitted: RangeSet,
): { allowed: RangeSet; entries: AclEntryUse[] } | ExposurePath {
  if (!net.networkAcls.ok) return unknown("network-acl", readError(net.networkAcls));
  const acl = net.networkAcls.value.find((candidate) =>
    (candidate.Associations ?? []).some((association) => association.SubnetId === iface.subnetId),
  );
  if (!iface.subnetId || acl === undefined) {
    return unknown("network-acl", `no network ACL is associated with subnet ${iface.subnetId ?? "(none)"}`);
  }
  const aclId = acl.NetworkAclId ?? "unknown-acl";
  const ingress = (acl.Entries ?? [])
    .filter((entry) => !entry.Egress)
    .sort((a, b) => (a.RuleNumber ?? 0) - (b.RuleNumber ?? 0));
  let remaining = admitted;
  let allowed: RangeSet = [];
  const entries: AclEntryUse[] = [];
  let firstDeny: AclEntryUse | null = null;
  for (const entry of ingress) {
    if (!portMatches(entry.Protocol, entry.PortRange?.From, entry.PortRange?.To, port)) continue;
    const source = family === "ipv4" ? entry.CidrBlock : entry.Ipv6CidrBlock;
    const matched = intersect(remaining, cidrSet(source, family));
    if (isEmpty(matched)) continue;
    const use: AclEntryUse = {
      networkAclId: aclId,
      ruleNumber: entry.RuleNumber === DEFAULT_RULE_NUMBER ? "*" : (entry.RuleNumber ?? 0),
      source: source ?? "",
      set: matched,
    };
    if (entry.RuleAction === "allow") {
      allowed = union(allowed, matched);
      entries.push(use);
    } else firstDeny ??= use;
    remaining = subtract(remaining, matched);
    if (isEmpty(remaining)) break;
  }
  if (!isEmpty(allowed)) return { allowed, entries };
  const path = closed(
    "network-acl",
    firstDeny
      ? `network ACL ${aclId} entry ${firstDeny.ruleNumber} denies ${firstDeny.source} on TCP ${port} before any entry allows it`
      : `network ACL ${aclId} has no inbound entry that allows the admitted sources on TCP ${port} (the default * rule denies them)`,
  );
  path.networkAcl = {
    networkAclId: aclId,
    ruleNumber: firstDeny?.ruleNumber ?? "*",
    action: "deny",
    source: firstDeny?.source ?? (family === "ipv4" ? "0.0.0.0/0" : "::/0"),
  };
  return path;
}

interface RouteUse {
  routeTableId: string;
  main: boolean;
  destination: string;
  target: string;
  set: RangeSet;
}

function routedSources(
  iface: InterfaceFacts,
  family: IpFamily,
  net: RegionNetwork,
  allowed: RangeSet,
): { routed: RangeSet; routes: RouteUse[] } | ExposurePath {
  if (!net.routeTables.ok) return unknown("route", readError(net.routeTables));
  const tables = net.routeTables.value;
  const explicit = tables.find((table) =>
    (table.Associations ?? []).some((association) => association.SubnetId === iface.subnetId),
  );
  const table =
    explicit ??
    tables.find(
      (candidate) => candidate.VpcId === iface.vpcId && (candidate.Associations ?? []).some((a) => a.Main === true),
    );
  if (table === undefined) {
    return unknown("route", `no route table found for subnet ${iface.subnetId ?? "(none)"} or its VPC's main table`);
  }
  const tableId = table.RouteTableId ?? "unknown-route-table";
  const main = explicit === undefined;
  const routes = (table.Routes ?? [])
    .filter((route) => route.State !== "blackhole")
    .flatMap((route) => {
      const destination = family === "ipv4" ? route.DestinationCidrBlock : route.DestinationIpv6CidrBlock;
      const parsed = destination ? cidrRange(destination) : null;
      if (!destination || parsed === null || parsed.family !== family) return [];
      const target =
        route.GatewayId ??
        route.NatGatewayId ??
        route.TransitGatewayId ??
        route.EgressOnlyInternetGatewayId ??
        route.NetworkInterfaceId ??
        route.VpcPeeringConnectionId ??
        "local";
      return [{ destination, prefix: parsed.prefix, set: [parsed.range] as RangeSet, target }];
    })
    .sort((a, b) => b.prefix - a.prefix);
  let remaining = allowed;
  let routed: RangeSet = [];
  const used: RouteUse[] = [];
  let other: string | null = null;
  for (const route of routes) {
    const matched = intersect(remaining, route.set);
    if (isEmpty(matched)) continue;
    if (route.target.startsWith("igw-")) {
      routed = union(routed, matched);
      used.push({ routeTableId: tableId, main, destination: route.destination, target: route.target, set: matched });
    } else other ??= `${route.destination} goes to ${route.target}`;
    remaining = subtract(remaining, matched);
  }
  if (!isEmpty(routed)) return { routed, routes: used };
  return closed(
    "route",
    `route table ${tableId}${main ? " (the VPC's main table)" : ""} has no route to an internet gateway for the admitted sources${other ? ` (${other})` : ""}`,
  );
}
