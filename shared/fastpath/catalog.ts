// The fast path's event catalog (docs/fastpath.md): which EventBridge events can newly expose an address,
// and what to read in the event's account and region to find the addresses. An event arrives either as
// `AWS API Call via CloudTrail` (detail = the CloudTrail record, requestParameters and responseElements as
// the service wrote them) or as a native event (EC2 instance state change, ECS task state change).
// This module only reads the event; shared/fastpath/resolve.ts does the reading in AWS.

/** An EventBridge event as it reaches the central bus. */
export interface BusEvent {
  version?: string;
  id?: string;
  "detail-type"?: string;
  source?: string;
  account?: string;
  time?: string;
  region?: string;
  resources?: string[];
  detail?: Record<string, unknown>;
}

/** Which interfaces to list: DescribeNetworkInterfaces with one filter. */
export type InterfaceFilter =
  | "group-id"
  | "network-interface-id"
  | "attachment.instance-id"
  | "subnet-id"
  | "description";

/** One read that turns the event into addresses (shared/fastpath/resolve.ts runs it). */
export type Lookup =
  | { kind: "interfaces"; filter: InterfaceFilter; values: string[] }
  | { kind: "addresses"; allocationIds: string[]; publicIps: string[] }
  | { kind: "network-acls"; networkAclIds: string[] }
  | { kind: "route-tables"; filter: "route-table-id" | "route.gateway-id"; values: string[] }
  | { kind: "prefix-list"; prefixListId: string }
  | { kind: "lightsail-instances"; names: string[] }
  | { kind: "accelerator"; acceleratorArn: string };

/** How densely the resolved targets are re-probed (shared/fastpath/schedule.ts). */
export type ScheduleKind = "change" | "start";

/** What an event means for the fast path. */
export interface Change {
  /** The EventBridge event id (the same event delivered twice has the same id). */
  eventId: string;
  /** eventName (CloudTrail) or detail-type (native). */
  name: string;
  accountId: string;
  region: string;
  /** When the change happened (CloudTrail eventTime, or the event's time). */
  eventTime: string;
  lookups: Lookup[];
  /** Addresses (or their allocation/association ids) no longer the account's: pending probes stop. */
  stop: string[];
  schedule: ScheduleKind;
}

/** The event is not one the fast path reads (a read-only call, a failed call, another source). */
export interface Irrelevant {
  irrelevant: string;
}

type Params = Record<string, unknown>;

const str = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
const obj = (value: unknown): Params => (typeof value === "object" && value !== null ? (value as Params) : {});
/** CloudTrail writes EC2 lists as {items: [...]}; newer APIs as plain arrays. */
const items = (value: unknown): Params[] => {
  const list = Array.isArray(value) ? value : Array.isArray(obj(value).items) ? (obj(value).items as unknown[]) : [];
  return list.map(obj);
};
const present = (...values: Array<string | undefined>): string[] => [
  ...new Set(values.filter((v): v is string => v !== undefined)),
];

/** Stop keys: the tombstones a fast probe checks before it probes (schedule.ts). */
export const stopKey = {
  ip: (ip: string) => `ip:${ip}`,
  allocation: (id: string) => `allocation:${id}`,
  association: (id: string) => `association:${id}`,
};

/** arn:...:loadbalancer/net/name/id or ...:listener/net/name/id/listener-id -> "ELB net/name/id" (owners.ts). */
function loadBalancerDescription(arn: string | undefined): string | undefined {
  const match = /:(?:loadbalancer|listener)\/((?:net|app)\/[^/]+\/[^/]+)/.exec(arn ?? "");
  return match ? `ELB ${match[1]}` : undefined;
}

/** Any Global Accelerator ARN below an accelerator (listener, endpoint group) -> the accelerator's ARN. */
function acceleratorArnOf(arn: string | undefined): string | undefined {
  const match = /^(arn:aws[\w-]*:globalaccelerator::\d{12}:accelerator\/[^/]+)/.exec(arn ?? "");
  return match?.[1];
}

type Rule = (request: Params, response: Params) => Partial<Pick<Change, "lookups" | "stop" | "schedule">> | null;

const interfaces = (filter: InterfaceFilter, values: string[]): Lookup[] =>
  values.length > 0 ? [{ kind: "interfaces", filter, values }] : [];

/**
 * The CloudTrail catalog: eventName -> the reads that find the addresses the call may have exposed.
 * null from a rule: the call cannot expose anything (e.g. a route to something other than an internet gateway).
 */
export const CLOUDTRAIL_CATALOG: Readonly<Record<string, { source: string; rule: Rule }>> = {
  AuthorizeSecurityGroupIngress: {
    source: "aws.ec2",
    // groupId, or only groupName in a default VPC: the rules AWS created name the group either way.
    rule: (req, res) => ({
      lookups: interfaces(
        "group-id",
        present(str(req.groupId), ...items(res.securityGroupRuleSet).map((rule) => str(rule.groupId))),
      ),
    }),
  },
  ModifySecurityGroupRules: {
    source: "aws.ec2",
    rule: (req) => ({
      lookups: interfaces("group-id", present(str(obj(req.ModifySecurityGroupRulesRequest).GroupId))),
    }),
  },
  ModifyNetworkInterfaceAttribute: {
    source: "aws.ec2",
    rule: (req) => ({ lookups: interfaces("network-interface-id", present(str(req.networkInterfaceId))) }),
  },
  AssignIpv6Addresses: {
    source: "aws.ec2",
    rule: (req) => ({ lookups: interfaces("network-interface-id", present(str(req.networkInterfaceId))) }),
  },
  AttachNetworkInterface: {
    source: "aws.ec2",
    rule: (req) => ({ lookups: interfaces("network-interface-id", present(str(req.networkInterfaceId))) }),
  },
  ModifyInstanceAttribute: {
    source: "aws.ec2",
    // Only a change of security groups opens anything; other attributes (type, user data) do not.
    rule: (req) =>
      req.groupSet === undefined
        ? null
        : { lookups: interfaces("attachment.instance-id", present(str(req.instanceId))) },
  },
  AssociateAddress: {
    source: "aws.ec2",
    rule: (req) => {
      const allocationIds = present(str(req.allocationId));
      const publicIps = present(str(req.publicIp));
      if (allocationIds.length + publicIps.length === 0) return null;
      return { lookups: [{ kind: "addresses", allocationIds, publicIps }] };
    },
  },
  AcceptAddressTransfer: {
    source: "aws.ec2",
    rule: (req, res) => {
      const transfer = obj(res.addressTransfer);
      const publicIps = present(str(obj(req.AcceptAddressTransferRequest).Address), str(req.address));
      const allocationIds = present(str(transfer.allocationId));
      if (allocationIds.length + publicIps.length === 0) return null;
      return { lookups: [{ kind: "addresses", allocationIds, publicIps }] };
    },
  },
  DisassociateAddress: {
    source: "aws.ec2",
    rule: (req) => {
      const stop = [
        ...present(str(req.publicIp)).map(stopKey.ip),
        ...present(str(req.associationId)).map(stopKey.association),
      ];
      return stop.length > 0 ? { stop } : null;
    },
  },
  ReleaseAddress: {
    source: "aws.ec2",
    rule: (req) => {
      const stop = [
        ...present(str(req.publicIp)).map(stopKey.ip),
        ...present(str(req.allocationId)).map(stopKey.allocation),
      ];
      return stop.length > 0 ? { stop } : null;
    },
  },
  CreateNetworkAclEntry: { source: "aws.ec2", rule: (req) => networkAcl(req) },
  ReplaceNetworkAclEntry: { source: "aws.ec2", rule: (req) => networkAcl(req) },
  DeleteNetworkAclEntry: { source: "aws.ec2", rule: (req) => networkAcl(req) },
  ReplaceNetworkAclAssociation: { source: "aws.ec2", rule: (req) => networkAcl(req) },
  CreateRoute: { source: "aws.ec2", rule: (req) => routeToInternet(req) },
  ReplaceRoute: { source: "aws.ec2", rule: (req) => routeToInternet(req) },
  AssociateRouteTable: { source: "aws.ec2", rule: (req) => routeTable(str(req.routeTableId)) },
  ReplaceRouteTableAssociation: { source: "aws.ec2", rule: (req) => routeTable(str(req.routeTableId)) },
  AttachInternetGateway: {
    source: "aws.ec2",
    rule: (req) => {
      const gateway = str(req.internetGatewayId);
      return gateway === undefined
        ? null
        : { lookups: [{ kind: "route-tables", filter: "route.gateway-id", values: [gateway] }] };
    },
  },
  ModifyManagedPrefixList: {
    source: "aws.ec2",
    rule: (req) => {
      const prefixListId = str(obj(req.ModifyManagedPrefixListRequest).PrefixListId) ?? str(req.prefixListId);
      return prefixListId === undefined ? null : { lookups: [{ kind: "prefix-list", prefixListId }] };
    },
  },
  OpenInstancePublicPorts: { source: "aws.lightsail", rule: (req) => lightsail(present(str(req.instanceName))) },
  PutInstancePublicPorts: { source: "aws.lightsail", rule: (req) => lightsail(present(str(req.instanceName))) },
  AttachStaticIp: { source: "aws.lightsail", rule: (req) => lightsail(present(str(req.instanceName))) },
  StartInstance: { source: "aws.lightsail", rule: (req) => lightsail(present(str(req.instanceName)), "start") },
  CreateInstances: {
    source: "aws.lightsail",
    rule: (req) =>
      lightsail(
        present(...(Array.isArray(req.instanceNames) ? req.instanceNames : []).map((name) => str(name))),
        "start",
      ),
  },
  CreateAccelerator: {
    source: "aws.globalaccelerator",
    rule: (_req, res) => accelerator(str(obj(res.accelerator).acceleratorArn)),
  },
  UpdateAccelerator: { source: "aws.globalaccelerator", rule: (req) => accelerator(str(req.acceleratorArn)) },
  CreateEndpointGroup: { source: "aws.globalaccelerator", rule: (req) => accelerator(str(req.listenerArn)) },
  UpdateEndpointGroup: { source: "aws.globalaccelerator", rule: (req) => accelerator(str(req.endpointGroupArn)) },
  AddEndpoints: { source: "aws.globalaccelerator", rule: (req) => accelerator(str(req.endpointGroupArn)) },
  CreateLoadBalancer: {
    source: "aws.elasticloadbalancing",
    rule: (req, res) => {
      if (str(req.scheme) === "internal") return null;
      const balancers = Array.isArray(res.loadBalancers) ? res.loadBalancers.map(obj) : [];
      const descriptions = present(
        ...balancers
          .filter((lb) => str(lb.scheme) !== "internal")
          .map((lb) => loadBalancerDescription(str(lb.loadBalancerArn))),
      );
      return { lookups: interfaces("description", descriptions) };
    },
  },
  CreateListener: {
    source: "aws.elasticloadbalancing",
    rule: (req) => ({ lookups: interfaces("description", present(loadBalancerDescription(str(req.loadBalancerArn)))) }),
  },
  ModifyListener: {
    source: "aws.elasticloadbalancing",
    rule: (req) => ({ lookups: interfaces("description", present(loadBalancerDescription(str(req.listenerArn)))) }),
  },
  // Nothing to probe yet: an instance launched into the subnet arrives as its own `running` event.
  ModifySubnetAttribute: { source: "aws.ec2", rule: () => null },
};

function networkAcl(req: Params): ReturnType<Rule> {
  const id = str(req.networkAclId);
  return id === undefined ? null : { lookups: [{ kind: "network-acls", networkAclIds: [id] }] };
}

function routeToInternet(req: Params): ReturnType<Rule> {
  // Only a route to an internet gateway makes a subnet reachable from the internet.
  if (!str(req.gatewayId)?.startsWith("igw-")) return null;
  return routeTable(str(req.routeTableId));
}

function routeTable(id: string | undefined): ReturnType<Rule> {
  return id === undefined ? null : { lookups: [{ kind: "route-tables", filter: "route-table-id", values: [id] }] };
}

function lightsail(names: string[], schedule: ScheduleKind = "change"): ReturnType<Rule> {
  return names.length === 0 ? null : { lookups: [{ kind: "lightsail-instances", names }], schedule };
}

function accelerator(arn: string | undefined): ReturnType<Rule> {
  const acceleratorArn = acceleratorArnOf(arn);
  return acceleratorArn === undefined ? null : { lookups: [{ kind: "accelerator", acceleratorArn }] };
}

/** The catalog's event names by source: what the member-account rules forward (infra). */
export function catalogEventNames(): Record<string, string[]> {
  const bySource: Record<string, string[]> = {};
  for (const [name, { source }] of Object.entries(CLOUDTRAIL_CATALOG)) {
    if (name === "ModifySubnetAttribute") continue; // resolves to nothing: not forwarded
    bySource[source] = [...(bySource[source] ?? []), name];
  }
  return bySource;
}

export const NATIVE_DETAIL_TYPES = {
  instance: "EC2 Instance State-change Notification",
  task: "ECS Task State Change",
} as const;

/** Reads one bus event; anything that cannot expose an address is Irrelevant, never an error. */
export function changeFromEvent(event: BusEvent): Change | Irrelevant {
  const detail = obj(event.detail);
  const detailType = event["detail-type"];
  const common = {
    eventId: str(event.id) ?? "",
    accountId: str(event.account) ?? "",
    region: str(event.region) ?? "",
    eventTime: str(event.time) ?? "",
  };
  if (!/^\d{12}$/.test(common.accountId) || common.region === "") {
    return { irrelevant: "the event names no account or region" };
  }
  if (detailType === "AWS API Call via CloudTrail") {
    const name = str(detail.eventName) ?? "";
    const entry = Object.hasOwn(CLOUDTRAIL_CATALOG, name) ? CLOUDTRAIL_CATALOG[name] : undefined;
    if (entry === undefined) return { irrelevant: `${name || "an unnamed call"} is not in the catalog` };
    if (detail.errorCode !== undefined) return { irrelevant: `${name} failed (${String(detail.errorCode)})` };
    const rule = entry.rule(obj(detail.requestParameters), obj(detail.responseElements));
    if (rule === null) return { irrelevant: `${name} cannot expose an address` };
    // The account and region the call acted in (recipientAccountId; the bus event names the same account).
    return {
      ...common,
      accountId: str(detail.recipientAccountId) ?? common.accountId,
      region: str(detail.awsRegion) ?? common.region,
      eventTime: str(detail.eventTime) ?? common.eventTime,
      name,
      lookups: rule.lookups ?? [],
      stop: rule.stop ?? [],
      schedule: rule.schedule ?? "change",
    };
  }
  if (detailType === NATIVE_DETAIL_TYPES.instance) {
    const instanceId = str(detail["instance-id"]);
    if (detail.state !== "running" || instanceId === undefined) return { irrelevant: "not an instance start" };
    return {
      ...common,
      name: detailType,
      lookups: interfaces("attachment.instance-id", [instanceId]),
      stop: [],
      schedule: "start",
    };
  }
  if (detailType === NATIVE_DETAIL_TYPES.task) {
    if (detail.lastStatus !== "RUNNING") return { irrelevant: "not a task start" };
    const enis = (Array.isArray(detail.attachments) ? detail.attachments.map(obj) : [])
      .filter((attachment) => attachment.type === "eni" || attachment.type === "ElasticNetworkInterface")
      .flatMap((attachment) => (Array.isArray(attachment.details) ? attachment.details.map(obj) : []))
      .filter((pair) => pair.name === "networkInterfaceId")
      .map((pair) => str(pair.value));
    const ids = present(...enis);
    // A task without its own interface (bridge or host networking) shows on its instance's interface.
    if (ids.length === 0) return { irrelevant: "the task has no network interface of its own" };
    return {
      ...common,
      name: detailType,
      lookups: interfaces("network-interface-id", ids),
      stop: [],
      schedule: "start",
    };
  }
  return { irrelevant: `${detailType ?? "an event without detail-type"} is not read by the fast path` };
}

export function isIrrelevant(value: Change | Irrelevant): value is Irrelevant {
  return "irrelevant" in value;
}
