// The environment contract between the CDK stack (infra/) and the Lambda handlers (functions/): every
// variable's name in one place. The stack builds each function's environment with the builders below and
// the handlers read the same names (functions/commons/config.ts), so neither side spells a name as a
// string of its own and a variable cannot be set without being read. docs/readme-handlers.md lists them.

import type { IpFamily } from "./net/ip.ts";

export const ENV = {
  /** Every function: the monitor's DynamoDB table (set by MonitorFunction.bindTable). */
  tableName: "TABLE_NAME",
  /** enumerate: the shard queue's URL. */
  shardQueueUrl: "SHARD_QUEUE_URL",
  /** enumerate: the IPv6 shard queue's URL, read by the probe function in the scanner VPC (optional). */
  ipv6ShardQueueUrl: "IPV6_SHARD_QUEUE_URL",
  /** probe: host:port the function must reach over IPv6 first each invocation, proving its path (optional). */
  probeIpv6SelfTest: "PROBE_IPV6_SELF_TEST",
  /** enumerate: targets per shard (infra/sizing.ts SHARD_SIZE). */
  shardSize: "SHARD_SIZE",
  /** enumerate: ports probed on every address, comma-separated. */
  probePorts: "PROBE_PORTS",
  /** enumerate: the read-only role's name in member accounts. */
  memberRoleName: "MEMBER_ROLE_NAME",
  /** enumerate: the external id the member role requires. */
  externalId: "EXTERNAL_ID",
  /** enumerate: "organization", "current", or account ids, comma-separated. */
  accounts: "ACCOUNTS",
  /** enumerate: regions, comma-separated; unset means every enabled region. */
  regions: "REGIONS",
  /** enumerate: days before DynamoDB may delete a scan record (its ttl). */
  scanRetentionDays: "SCAN_RETENTION_DAYS",
  /** probe: days before DynamoDB may delete a state-change event (optional; unset keeps events). */
  eventRetentionDays: "EVENT_RETENTION_DAYS",
  /** probe: sockets at once per execution environment (infra/sizing.ts). */
  probeSocketConcurrency: "PROBE_SOCKET_CONCURRENCY",
  /** probe: masters a replica may follow without a rogue-master finding, comma-separated. */
  allowedMasters: "ALLOWED_MASTERS",
  /** notify: the alert topic's ARN. */
  alertTopicArn: "ALERT_TOPIC_ARN",
  /** notify, notify-retry: the FIFO queue a failed channel's alert is retried from (docs/readme-alerts.md). */
  alertRetryQueueUrl: "ALERT_RETRY_QUEUE_URL",
  /** notify: the Secrets Manager secret holding the Slack webhook URL (optional). */
  slackWebhookSecretArn: "SLACK_WEBHOOK_SECRET_ARN",
  /** router: the fast-probe queue's URL (docs/fastpath.md). */
  fastProbeQueueUrl: "FAST_PROBE_QUEUE_URL",
  /** router: the IPv6 fast-probe queue's URL, read by the fast-probe function in the scanner VPC (optional). */
  fastProbeIpv6QueueUrl: "FAST_PROBE_IPV6_QUEUE_URL",
  /** armed: endpoints probed per run at most. */
  armedMaxTargets: "ARMED_MAX_TARGETS",
  /** armed: "ipv4" or "ipv6", the address family this function probes (optional; unset = both). */
  armedFamily: "ARMED_FAMILY",
  /** notify: the least severity the Slack webhook gets (optional; all when unset). */
  slackMinSeverity: "SLACK_MIN_SEVERITY",
  /** notify: the EventBridge bus every state change is put on. */
  eventBusName: "EVENT_BUS_NAME",
  /** notify: the monitor account's Security Hub default product ARN; set = import findings there (optional). */
  securityHubProductArn: "SECURITY_HUB_PRODUCT_ARN",
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/**
 * How long the notify function spends delivering one invocation's events at most: well below its timeout
 * (infra/sizing.ts NOTIFY_TIMEOUT_SECONDS, checked by test/infra), so a hanging channel cannot make it time
 * out and lose the deliveries that did succeed.
 */
export const NOTIFY_DELIVERY_BUDGET_MS = 12_000;

export interface EnumerateEnvironment {
  shardQueueUrl: string;
  /** Shards of IPv6 targets go here when set (docs/readme-probe.md, "IPv6 in AWS"). */
  ipv6ShardQueueUrl?: string;
  shardSize: number;
  probePorts: readonly number[];
  memberRoleName: string;
  externalId: string;
  accounts: "organization" | "current" | readonly string[];
  regions: readonly string[];
  scanRetentionDays?: number;
  /** The ttl of the events it records (an expired acknowledgement's), as the probe's. */
  eventRetentionDays?: number;
}

export function enumerateEnvironment(env: EnumerateEnvironment): Record<string, string> {
  return {
    [ENV.shardQueueUrl]: env.shardQueueUrl,
    ...(env.ipv6ShardQueueUrl !== undefined ? { [ENV.ipv6ShardQueueUrl]: env.ipv6ShardQueueUrl } : {}),
    [ENV.shardSize]: String(env.shardSize),
    [ENV.probePorts]: env.probePorts.join(","),
    [ENV.memberRoleName]: env.memberRoleName,
    [ENV.externalId]: env.externalId,
    [ENV.accounts]: typeof env.accounts === "string" ? env.accounts : env.accounts.join(","),
    ...(env.regions.length > 0 ? { [ENV.regions]: env.regions.join(",") } : {}),
    ...(env.scanRetentionDays !== undefined ? { [ENV.scanRetentionDays]: String(env.scanRetentionDays) } : {}),
    ...(env.eventRetentionDays !== undefined ? { [ENV.eventRetentionDays]: String(env.eventRetentionDays) } : {}),
  };
}

export interface ProbeEnvironment {
  socketConcurrency: number;
  allowedMasters: readonly string[];
  eventRetentionDays?: number;
  /** "host:port" reached over IPv6 first by each invocation; unreachable = the batch fails (the IPv6 probe function). */
  ipv6SelfTest?: string;
}

export function probeEnvironment(env: ProbeEnvironment): Record<string, string> {
  return {
    [ENV.probeSocketConcurrency]: String(env.socketConcurrency),
    ...(env.allowedMasters.length > 0 ? { [ENV.allowedMasters]: env.allowedMasters.join(",") } : {}),
    ...(env.eventRetentionDays !== undefined ? { [ENV.eventRetentionDays]: String(env.eventRetentionDays) } : {}),
    ...(env.ipv6SelfTest !== undefined ? { [ENV.probeIpv6SelfTest]: env.ipv6SelfTest } : {}),
  };
}

/** What notify and notify-retry both deliver to: the same channels, the same retry queue. */
export interface AlertChannelsEnvironment {
  alertTopicArn: string;
  slackWebhookSecretArn?: string;
  slackMinSeverity?: string;
  alertRetryQueueUrl: string;
}

export function alertChannelsEnvironment(env: AlertChannelsEnvironment): Record<string, string> {
  return {
    [ENV.alertTopicArn]: env.alertTopicArn,
    ...(env.slackWebhookSecretArn !== undefined ? { [ENV.slackWebhookSecretArn]: env.slackWebhookSecretArn } : {}),
    ...(env.slackMinSeverity !== undefined ? { [ENV.slackMinSeverity]: env.slackMinSeverity } : {}),
    [ENV.alertRetryQueueUrl]: env.alertRetryQueueUrl,
  };
}

export interface NotifyEnvironment extends AlertChannelsEnvironment {
  eventBusName: string;
  securityHubProductArn?: string;
}

export function notifyEnvironment(env: NotifyEnvironment): Record<string, string> {
  return {
    ...alertChannelsEnvironment(env),
    [ENV.eventBusName]: env.eventBusName,
    ...(env.securityHubProductArn !== undefined ? { [ENV.securityHubProductArn]: env.securityHubProductArn } : {}),
  };
}

export interface RouterEnvironment
  extends Omit<EnumerateEnvironment, "shardQueueUrl" | "shardSize" | "ipv6ShardQueueUrl"> {
  fastProbeQueueUrl: string;
  /** IPv6 targets are scheduled here when set (the fast-probe function in the scanner VPC). */
  fastProbeIpv6QueueUrl?: string;
}

/** The router reads accounts, regions, ports and the member role like enumerate, and schedules on its own queue. */
export function routerEnvironment(env: RouterEnvironment): Record<string, string> {
  const {
    [ENV.shardQueueUrl]: _queue,
    [ENV.shardSize]: _size,
    ...inventory
  } = enumerateEnvironment({
    ...env,
    shardQueueUrl: "-",
    shardSize: 1,
  });
  return {
    ...inventory,
    [ENV.fastProbeQueueUrl]: env.fastProbeQueueUrl,
    ...(env.fastProbeIpv6QueueUrl !== undefined ? { [ENV.fastProbeIpv6QueueUrl]: env.fastProbeIpv6QueueUrl } : {}),
  };
}

export function armedEnvironment(
  env: ProbeEnvironment & { maxTargets: number; family?: IpFamily },
): Record<string, string> {
  return {
    ...probeEnvironment(env),
    [ENV.armedMaxTargets]: String(env.maxTargets),
    ...(env.family !== undefined ? { [ENV.armedFamily]: env.family } : {}),
  };
}
