// What the inventory reads: which accounts, regions, resources (by tag) and ports.
// Checked once; every field has a safe default so `{}` means "the current account".

export const DEFAULT_ROLE_NAME = "ExposureMonitorReadOnly";
export const DEFAULT_PORTS: readonly number[] = [6379];

/**
 * Regions where Lightsail has an endpoint (Lightsail is not in every EC2 region). Calling it
 * elsewhere fails on DNS, which would show up as a false coverage gap.
 */
export const LIGHTSAIL_REGIONS: readonly string[] = [
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-south-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ca-central-1",
  "eu-central-1",
  "eu-north-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "us-east-1",
  "us-east-2",
  "us-west-2",
];

/** A tag condition: `key` alone matches any value. */
export interface TagFilter {
  key: string;
  value?: string;
}

/**
 * Which accounts are read:
 * - "organization": every ACTIVE account from organizations:ListAccounts (run from the
 *   management account or a delegated administrator),
 * - "accounts": the listed account ids,
 * - "current": the account of the caller's credentials.
 */
export type AccountSource = { kind: "organization" } | { kind: "accounts"; accountIds: string[] } | { kind: "current" };

export interface InventoryConfig {
  accounts: AccountSource;
  /** Account ids never read, whatever the source says. */
  excludeAccounts: string[];
  /** When set, exactly these regions are read and ec2:DescribeRegions is not called. */
  regions: string[] | null;
  excludeRegions: string[];
  /** A resource is kept when it matches any include filter (or there are none)... */
  includeTags: TagFilter[];
  /** ...and matches no exclude filter. */
  excludeTags: TagFilter[];
  ports: number[];
  /** The read-only role assumed in every account other than the caller's own. */
  roleName: string;
  externalId: string | null;
  /** Region-level reads running at once, over all accounts. */
  concurrency: number;
  /** Deadline for one API call including the SDK's retries; a call past it becomes a coverage gap. */
  callTimeoutMs: number;
  lightsailRegions: readonly string[];
  readLightsail: boolean;
  readGlobalAccelerator: boolean;
  /** Resolve the path from the internet per address and port (docs/readme-path.md). */
  resolvePaths: boolean;
  /** Tag keys that name an owner (matched without regard to case), carried into targets and alerts. */
  ownerTagKeys: string[];
}

export const DEFAULT_INVENTORY_CONFIG: InventoryConfig = {
  accounts: { kind: "current" },
  excludeAccounts: [],
  regions: null,
  excludeRegions: [],
  includeTags: [],
  excludeTags: [],
  ports: [...DEFAULT_PORTS],
  roleName: DEFAULT_ROLE_NAME,
  externalId: null,
  concurrency: 128,
  callTimeoutMs: 30_000,
  lightsailRegions: LIGHTSAIL_REGIONS,
  readLightsail: true,
  readGlobalAccelerator: true,
  resolvePaths: true,
  ownerTagKeys: ["team", "owner"],
};

/** Thrown for a configuration that cannot be used; the message names the field. */
export class InventoryConfigError extends Error {
  override name = "InventoryConfigError";
}

const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
// IAM role names: 1-64 of [\w+=,.@-].
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
// sts:AssumeRole ExternalId: 2-1224 of [\w+=,.@:/-].
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** Fills defaults and checks every field; throws InventoryConfigError naming the first bad one. */
export function resolveInventoryConfig(partial: Partial<InventoryConfig> = {}): InventoryConfig {
  const config: InventoryConfig = { ...DEFAULT_INVENTORY_CONFIG, ...partial };
  if (config.accounts.kind === "accounts") {
    if (config.accounts.accountIds.length === 0) throw new InventoryConfigError("accounts: the account list is empty");
    for (const id of config.accounts.accountIds) checkAccountId(id);
  }
  for (const id of config.excludeAccounts) checkAccountId(id);
  if (config.regions !== null && config.regions.length === 0)
    throw new InventoryConfigError("regions: the list is empty");
  for (const region of [...(config.regions ?? []), ...config.excludeRegions]) {
    if (!REGION.test(region)) throw new InventoryConfigError(`region "${region}" is not a region name like eu-west-1`);
  }
  if (config.ports.length === 0) throw new InventoryConfigError("ports: the list is empty");
  for (const port of config.ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new InventoryConfigError(`port ${port} is not between 1 and 65535`);
    }
  }
  if (!ROLE_NAME.test(config.roleName)) throw new InventoryConfigError(`role name "${config.roleName}" is not valid`);
  if (config.externalId !== null && !EXTERNAL_ID.test(config.externalId)) {
    throw new InventoryConfigError("external id must be 2-1224 characters of letters, digits and +=,.@:/-");
  }
  if (!Number.isInteger(config.concurrency) || config.concurrency < 1) {
    throw new InventoryConfigError("concurrency must be a positive whole number");
  }
  if (!(config.callTimeoutMs > 0)) throw new InventoryConfigError("call timeout must be positive");
  for (const key of config.ownerTagKeys) {
    if (key === "" || key.length > 128)
      throw new InventoryConfigError(`owner tag key "${key}" must be 1-128 characters`);
  }
  for (const filter of [...config.includeTags, ...config.excludeTags]) {
    if (filter.key === "") throw new InventoryConfigError("tag filter with an empty key");
  }
  return {
    ...config,
    ports: [...new Set(config.ports)].sort((a, b) => a - b),
    excludeAccounts: [...new Set(config.excludeAccounts)],
  };
}

function checkAccountId(id: string): void {
  if (!ACCOUNT_ID.test(id)) throw new InventoryConfigError(`account id "${id}" is not 12 digits`);
}

/** "Team=payments" -> {key: "Team", value: "payments"}; "Team" -> any value. */
export function parseTagFilter(text: string): TagFilter {
  const at = text.indexOf("=");
  if (at === -1) {
    if (text === "") throw new InventoryConfigError("tag filter is empty");
    return { key: text };
  }
  const key = text.slice(0, at);
  if (key === "") throw new InventoryConfigError(`tag filter "${text}" has an empty key`);
  return { key, value: text.slice(at + 1) };
}

export function tagMatches(tags: Record<string, string> | undefined, filter: TagFilter): boolean {
  if (tags === undefined || !Object.hasOwn(tags, filter.key)) return false;
  return filter.value === undefined || tags[filter.key] === filter.value;
}

/** Whether a resource with these tags is in scope. */
export function tagsInScope(tags: Record<string, string> | undefined, config: InventoryConfig): boolean {
  if (config.includeTags.length > 0 && !config.includeTags.some((filter) => tagMatches(tags, filter))) return false;
  return !config.excludeTags.some((filter) => tagMatches(tags, filter));
}
