// Deployment settings read from CDK context (`cdk.json` or `npx cdk deploy -c key=value`), checked once so
// a typo fails synthesis with a one-line message instead of deploying something half-configured.
import type { Node } from "constructs";
import { isSeverity, SEVERITY_ORDER } from "../shared/alerts/route.ts";
import { closestName } from "../shared/did-you-mean.ts";
import type { Severity } from "../shared/exposure/model.ts";
import { DEFAULT_PORTS, DEFAULT_ROLE_NAME } from "../shared/inventory/config.ts";
import { AddressSet } from "../shared/net/ip.ts";
import { DEFAULT_PROBE_MAX_CONCURRENCY, DEFAULT_SCHEDULE_MINUTES } from "./sizing.ts";

export const DEFAULT_EXTERNAL_ID = "exposure-monitor";

export interface SlackChannel {
  workspaceId: string;
  channelId: string;
}

export interface MonitorConfig {
  /** Minutes between scans (EventBridge Scheduler rate). */
  scheduleMinutes: number;
  /** Cap on concurrent probe invocations (SQS event source maximum concurrency). */
  probeMaxConcurrency: number;
  /** TCP ports probed on every public address. */
  probePorts: number[];
  /** Email addresses subscribed to the alert topic. */
  alertEmails: string[];
  /** Email addresses subscribed to the operations (alarm) topic. */
  opsEmails: string[];
  /** AWS Chatbot Slack channel for alerts. */
  slack?: SlackChannel;
  /** Secrets Manager secret (full ARN) holding a Slack incoming-webhook URL the notify function posts to. */
  slackWebhookSecretArn?: string;
  /** The read-only role name deployed in every member account. */
  memberRoleName: string;
  /** sts:ExternalId the enumerate function presents when it assumes the member role. */
  externalId: string;
  /**
   * Which accounts a scan reads (shared/inventory AccountSource): "organization" (every active account,
   * listed with organizations:ListAccounts by the monitor account, which must be the management account
   * or allowed by an Organizations delegation policy), "current" (the monitor's account only), or ids.
   */
  accounts: "organization" | "current" | string[];
  /** Regions to read; none = every region enabled in each account (ec2:DescribeRegions). */
  regions: string[];
  /** Organization id (o-...); when set, the enumerate role may assume member roles only inside it. */
  organizationId?: string;
  /** Days of Lambda logs to keep. */
  logRetentionDays: number;
  /** Addresses or CIDR blocks a replica may follow without a rogue-master finding (besides private ones). */
  allowedMasters: string[];
  /**
   * Organization root (r-...) or OU ids (ou-...) the member-role StackSet deploys to; none = no StackSet
   * (the member stack is then deployed by hand, docs/readme-deploy.md).
   */
  memberOrganizationalUnitIds: string[];
  /** How the monitor account creates the StackSet: SELF (management account) or DELEGATED_ADMIN. */
  stackSetCallAs: "SELF" | "DELEGATED_ADMIN";
  /** The least severity alert emails get (an SNS filter policy on the subscriptions). */
  emailMinSeverity: Severity;
  /** The least severity the Slack webhook gets. */
  slackMinSeverity: Severity;
  /** The EventBridge bus every state change is put on. */
  eventBusName: string;
  /** Import findings into the monitor account's Security Hub. */
  securityHubImport: boolean;
  /** A CloudWatch dashboard ($3 a month beyond an account's first three); off by default. */
  dashboard: boolean;
  /** Days DynamoDB keeps scan records (their ttl); default 90. */
  scanRetentionDays: number;
  /** Days DynamoDB keeps state-change events (their ttl); none = forever (the default: audit evidence). */
  eventRetentionDays?: number;
}

export const CONTEXT_KEYS = [
  "scheduleMinutes",
  "probeMaxConcurrency",
  "probePorts",
  "alertEmails",
  "opsEmails",
  "slackWorkspaceId",
  "slackChannelId",
  "slackWebhookSecretArn",
  "memberRoleName",
  "externalId",
  "accounts",
  "regions",
  "organizationId",
  "logRetentionDays",
  "allowedMasters",
  "memberOrganizationalUnitIds",
  "stackSetCallAs",
  "emailMinSeverity",
  "slackMinSeverity",
  "eventBusName",
  "securityHubImport",
  "dashboard",
  "scanRetentionDays",
  "eventRetentionDays",
] as const;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates every setting; unknown or malformed values throw ConfigError. */
export function monitorConfigFromContext(node: Node): MonitorConfig {
  checkContextKeys(Object.keys(node.getAllContext() as Record<string, unknown>));
  const get = (key: (typeof CONTEXT_KEYS)[number]): unknown => node.tryGetContext(key);
  const slackWorkspaceId = optionalString(get("slackWorkspaceId"), "slackWorkspaceId");
  const slackChannelId = optionalString(get("slackChannelId"), "slackChannelId");
  if ((slackWorkspaceId === undefined) !== (slackChannelId === undefined)) {
    throw new ConfigError("context slackWorkspaceId and slackChannelId must be given together");
  }
  const slackWebhookSecretArn = optionalString(get("slackWebhookSecretArn"), "slackWebhookSecretArn");
  if (slackWebhookSecretArn !== undefined && !/^arn:aws[a-z-]*:secretsmanager:/.test(slackWebhookSecretArn)) {
    throw new ConfigError("context slackWebhookSecretArn must be a Secrets Manager secret ARN");
  }
  const accountList = list(get("accounts"), "accounts");
  const accounts =
    accountList.length === 0 || (accountList.length === 1 && accountList[0] === "organization")
      ? "organization"
      : accountList.length === 1 && accountList[0] === "current"
        ? "current"
        : accountList.map((id) => {
            if (!/^\d{12}$/.test(id)) {
              throw new ConfigError(
                `context accounts: "${id}" is not "organization", "current" or a 12-digit account id`,
              );
            }
            return id;
          });
  const regions = list(get("regions"), "regions").map((region) => {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
      throw new ConfigError(`context regions: "${region}" is not a region name`);
    return region;
  });
  const organizationId = optionalString(get("organizationId"), "organizationId");
  if (organizationId !== undefined && !/^o-[a-z0-9]{10,32}$/.test(organizationId)) {
    throw new ConfigError("context organizationId must look like o-abc123defg");
  }
  const memberRoleName = optionalString(get("memberRoleName"), "memberRoleName") ?? DEFAULT_ROLE_NAME;
  if (!/^[\w+=,.@-]{1,64}$/.test(memberRoleName))
    throw new ConfigError("context memberRoleName is not an IAM role name");
  const externalId = optionalString(get("externalId"), "externalId") ?? DEFAULT_EXTERNAL_ID;
  if (!/^[\w+=,.@:/-]{2,1224}$/.test(externalId))
    throw new ConfigError("context externalId is not a valid external id");

  const probePorts = list(get("probePorts"), "probePorts").map((p) => portNumber(p));
  const allowedMasters = list(get("allowedMasters"), "allowedMasters");
  try {
    new AddressSet(allowedMasters);
  } catch (error) {
    throw new ConfigError(`context allowedMasters: ${(error as Error).message}`);
  }

  const memberOrganizationalUnitIds = list(get("memberOrganizationalUnitIds"), "memberOrganizationalUnitIds").map(
    (id) => {
      if (!/^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$/.test(id)) {
        throw new ConfigError(
          `context memberOrganizationalUnitIds: "${id}" is not an organization root (r-...) or OU id (ou-...)`,
        );
      }
      return id;
    },
  );
  const callAs = optionalString(get("stackSetCallAs"), "stackSetCallAs") ?? "SELF";
  if (callAs !== "SELF" && callAs !== "DELEGATED_ADMIN") {
    throw new ConfigError(`context stackSetCallAs must be SELF or DELEGATED_ADMIN, got "${callAs}"`);
  }

  const severity = (key: "emailMinSeverity" | "slackMinSeverity", fallback: Severity): Severity => {
    const value = optionalString(get(key), key) ?? fallback;
    if (!isSeverity(value))
      throw new ConfigError(`context ${key} must be one of ${SEVERITY_ORDER.join(", ")}, got "${value}"`);
    return value;
  };
  const eventBusName = optionalString(get("eventBusName"), "eventBusName") ?? "default";
  if (!/^[\w.\-/]{1,256}$/.test(eventBusName)) throw new ConfigError("context eventBusName is not an event bus name");
  const securityHubImport = get("securityHubImport");
  if (![undefined, null, "", true, false, "true", "false"].includes(securityHubImport as string)) {
    throw new ConfigError("context securityHubImport must be true or false");
  }

  return {
    scheduleMinutes: integerIn(get("scheduleMinutes"), "scheduleMinutes", 1, 720) ?? DEFAULT_SCHEDULE_MINUTES,
    probeMaxConcurrency:
      integerIn(get("probeMaxConcurrency"), "probeMaxConcurrency", 2, 1000) ?? DEFAULT_PROBE_MAX_CONCURRENCY,
    probePorts: probePorts.length > 0 ? probePorts : [...DEFAULT_PORTS],
    alertEmails: list(get("alertEmails"), "alertEmails").map((e) => email(e, "alertEmails")),
    opsEmails: list(get("opsEmails"), "opsEmails").map((e) => email(e, "opsEmails")),
    slack:
      slackWorkspaceId !== undefined && slackChannelId !== undefined
        ? { workspaceId: slackWorkspaceId, channelId: slackChannelId }
        : undefined,
    slackWebhookSecretArn,
    memberRoleName,
    externalId,
    accounts,
    regions,
    organizationId,
    logRetentionDays: integerIn(get("logRetentionDays"), "logRetentionDays", 1, 3653) ?? 30,
    allowedMasters,
    memberOrganizationalUnitIds,
    stackSetCallAs: callAs,
    emailMinSeverity: severity("emailMinSeverity", "critical"),
    slackMinSeverity: severity("slackMinSeverity", "info"),
    eventBusName,
    securityHubImport: securityHubImport === true || securityHubImport === "true",
    dashboard: booleanValue(get("dashboard"), "dashboard") ?? false,
    scanRetentionDays: integerIn(get("scanRetentionDays"), "scanRetentionDays", 1, 36_500) ?? 90,
    eventRetentionDays: integerIn(get("eventRetentionDays"), "eventRetentionDays", 1, 36_500),
  };
}

function booleanValue(value: unknown, key: string): boolean | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw new ConfigError(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
}

/**
 * Context keys shaped like ours (camelCase words) must be ours: a misspelt key would otherwise be
 * ignored silently and deploy a default. CDK's own keys (`@aws-cdk/...`, `aws:cdk:...`, lookups with
 * `:` or `=`, `acknowledged-issue-numbers`) are left alone.
 */
function checkContextKeys(keys: readonly string[]): void {
  const known = new Set<string>(CONTEXT_KEYS);
  for (const key of keys) {
    if (!/^[a-z][a-zA-Z0-9]*$/.test(key) || known.has(key)) continue;
    const near = closestName(key, CONTEXT_KEYS);
    throw new ConfigError(`unknown context key "${key}"${near ? ` (did you mean ${near}?)` : ""}`);
  }
}

function optionalString(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new ConfigError(`context ${key} must be a string`);
  return value.trim();
}

function integerIn(value: unknown, key: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`context ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A JSON array in cdk.json, or a comma-separated string from `-c key=a,b`. */
function list(value: unknown, key: string): string[] {
  if (value === undefined || value === null || value === "") return [];
  const items = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : null;
  if (items === null) throw new ConfigError(`context ${key} must be a list or a comma-separated string`);
  return items.map((item) => String(item).trim()).filter((item) => item !== "");
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(`context probePorts: bad port ${value}`);
  return n;
}

function email(value: string, key: string): string {
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value))
    throw new ConfigError(`context ${key}: not an email address: ${value}`);
  return value;
}
