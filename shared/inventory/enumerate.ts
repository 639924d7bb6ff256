// The organization-wide inventory: accounts x regions x listings -> deduplicated public targets
// with owners, plus a summary of what was read and what could not be (coverage gaps).
import { DescribeRegionsCommand } from "@aws-sdk/client-ec2";
import { ListAccountsCommand } from "@aws-sdk/client-organizations";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { callWithDeadline } from "../deadline.ts";
import type { CoverageGap, ExposurePath, PathVerdict, Target } from "../exposure/model.ts";
import { isPublicAddress } from "../net/ip.ts";
import { addressOrderKey, canonicalAddress } from "./address-order.ts";
import type { AccountAccess, AccountClients, InventoryClientFactory } from "./clients.ts";
import { type InventoryConfig, resolveInventoryConfig, tagsInScope } from "./config.ts";
import { type EnrichedAddress, enrichRegion } from "./enrich.ts";
import { createLimiter } from "./limiter.ts";
import { evaluatePath, type RegionNetwork } from "./path/evaluate.ts";
import {
  type FoundAddress,
  type ReadContext,
  readAllPages,
  readElasticIps,
  readGlobalAccelerators,
  readLightsailInstances,
  readLightsailStaticIps,
  readNetworkInterfaces,
} from "./readers.ts";

export interface InventoryCounts {
  /** Accounts in scope after include/exclude. */
  accounts: number;
  /** Account x region pairs attempted, and those with every listing read. */
  accountRegions: number;
  accountRegionsRead: number;
  /** Addresses reported by all listings, before filtering and deduplication. */
  addressesSeen: number;
  /** Private, shared or reserved addresses dropped. */
  nonPublicDropped: number;
  /** Public addresses whose owner is outside the tag filters. */
  outOfScopeByTag: number;
  /** Public addresses reported by more than one listing, counted once. */
  duplicates: number;
  /** Distinct public addresses, and those per owner type. */
  addresses: number;
  byResourceType: Record<string, number>;
  /** addresses x ports. */
  targets: number;
  /** Targets by path verdict (all zero when paths are not resolved). */
  paths: Record<PathVerdict, number>;
}

export interface InventorySummary {
  callerAccountId: string;
  startedAt: string;
  durationMs: number;
  /** Accounts entered whose regions could be listed (a region of one may still be a gap). */
  accountsRead: string[];
  /** Regions with every listing read in at least one account. */
  regionsRead: string[];
  gaps: CoverageGap[];
  /** Reads that cost only names or path verdicts (those verdicts are `unknown`), never addresses. */
  detailErrors: CoverageGap[];
  counts: InventoryCounts;
}

export interface InventoryResult {
  targets: Target[];
  summary: InventorySummary;
}

/** The caller's own credentials do not work: nothing can be read at all. */
export class InventoryCredentialsError extends Error {
  override name = "InventoryCredentialsError";
}

/**
 * Lists every public address of the configured accounts and regions, one target per address
 * and port, sorted by address then port. Failures of single accounts, regions or listings are
 * returned as coverage gaps; only unusable caller credentials throw (InventoryCredentialsError).
 */
export async function enumeratePublicTargets(
  configInput: Partial<InventoryConfig>,
  clients: InventoryClientFactory,
): Promise<InventoryResult> {
  const config = resolveInventoryConfig(configInput);
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const gaps: CoverageGap[] = [];
  const detailErrors: CoverageGap[] = [];
  const found: EnrichedAddress[] = [];
  const limit = createLimiter(config.concurrency);

  const caller = await callerIdentity(clients, config.callTimeoutMs);
  const accountsRead: string[] = [];
  const regionsAttempted = new Map<string, { ok: number; failed: number }>();
  let accountRegions = 0;

  async function readAccount(accountId: string): Promise<void> {
    const opened = await limit(() => openAccount(accountId, config, clients, caller, gaps));
    if (opened === null) return;
    accountsRead.push(accountId);
    accountRegions += opened.regions.length;
    const regionReads = opened.regions.map((region) =>
      limit(async () => {
        const ok = await readRegion(opened.account, region, config, found, gaps, detailErrors);
        const tally = regionsAttempted.get(region) ?? { ok: 0, failed: 0 };
        if (ok) tally.ok++;
        else tally.failed++;
        regionsAttempted.set(region, tally);
      }),
    );
    const accelerators = config.readGlobalAccelerator ? opened.account.globalAccelerator() : null;
    const globalRead =
      accelerators === null
        ? Promise.resolve(true)
        : limit(() =>
            collect(found, gaps, { accountId }, "globalaccelerator:ListAccelerators", () =>
              readGlobalAccelerators(accelerators, { accountId, callTimeoutMs: config.callTimeoutMs }),
            ),
          );
    await Promise.all([...regionReads, globalRead]);
  }

  // Accounts start as soon as they are known: a large organization's later pages do not hold up the first ones.
  const accountIds = new Set<string>();
  const accountReads: Promise<void>[] = [];
  const start = (ids: Iterable<string>) => {
    for (const id of ids) {
      if (accountIds.has(id) || config.excludeAccounts.includes(id)) continue;
      accountIds.add(id);
      accountReads.push(readAccount(id));
    }
  };
  await accountsInScope(config, clients, caller.accountId, gaps, start);
  await Promise.all(accountReads);

  const { targets, counts } = toTargets(found, config);
  return {
    targets,
    summary: {
      callerAccountId: caller.accountId,
      startedAt,
      durationMs: Date.now() - started,
      accountsRead: accountsRead.sort(),
      regionsRead: [...regionsAttempted.entries()]
        .filter(([, tally]) => tally.ok > 0)
        .map(([region]) => region)
        .sort(),
      gaps: gaps.sort(compareGaps),
      detailErrors: detailErrors.sort(compareGaps),
      counts: {
        ...counts,
        accounts: accountIds.size,
        accountRegions,
        accountRegionsRead: [...regionsAttempted.values()].reduce((sum, tally) => sum + tally.ok, 0),
      },
    },
  };
}

async function callerIdentity(clients: InventoryClientFactory, callTimeoutMs: number) {
  try {
    const identity = await callWithDeadline(callTimeoutMs, (abortSignal) =>
      clients.sts().send(new GetCallerIdentityCommand({}), { abortSignal }),
    );
    if (!identity.Account) throw new Error("sts:GetCallerIdentity returned no account");
    // arn:aws:sts::123456789012:assumed-role/... -> "aws" (or aws-cn, aws-us-gov) for role ARNs.
    const partition = identity.Arn?.split(":")[1] || "aws";
    return { accountId: identity.Account, partition };
  } catch (error) {
    throw new InventoryCredentialsError(`cannot use the AWS credentials (sts:GetCallerIdentity): ${errorText(error)}`);
  }
}

/** Hands the account ids in scope to `start`, page by page for an organization. */
async function accountsInScope(
  config: InventoryConfig,
  clients: InventoryClientFactory,
  callerAccountId: string,
  gaps: CoverageGap[],
  start: (accountIds: string[]) => void,
): Promise<void> {
  if (config.accounts.kind === "current") return start([callerAccountId]);
  if (config.accounts.kind === "accounts") return start(config.accounts.accountIds);
  let listed = 0;
  try {
    await readAllPages(
      config.callTimeoutMs,
      (NextToken, abortSignal) => clients.organizations().send(new ListAccountsCommand({ NextToken }), { abortSignal }),
      (page) => page.NextToken,
      (page) => {
        const active = (page.Accounts ?? [])
          // `State` replaces the deprecated `Status`; either says ACTIVE for a usable account.
          .filter((account) => (account.State ?? account.Status) === "ACTIVE")
          .flatMap((account) => (account.Id ? [account.Id] : []));
        listed += active.length;
        start(active);
      },
    );
  } catch (error) {
    gaps.push({ source: "organizations:ListAccounts", error: errorText(error) });
    // Without the organization's list, the caller's own account is still worth reading.
    if (listed === 0) start([callerAccountId]);
  }
}

async function openAccount(
  accountId: string,
  config: InventoryConfig,
  clients: InventoryClientFactory,
  caller: { accountId: string; partition: string },
  gaps: CoverageGap[],
): Promise<{ account: AccountClients; regions: string[] } | null> {
  const access: AccountAccess =
    accountId === caller.accountId
      ? { kind: "caller" }
      : {
          kind: "assume-role",
          roleArn: `arn:${caller.partition}:iam::${accountId}:role/${config.roleName}`,
          externalId: config.externalId,
        };
  let account: AccountClients;
  try {
    account = await clients.openAccount(accountId, access);
  } catch (error) {
    gaps.push({ accountId, source: "sts:AssumeRole", error: errorText(error) });
    return null;
  }
  let regions = config.regions;
  if (regions === null) {
    try {
      const output = await callWithDeadline(config.callTimeoutMs, (abortSignal) =>
        account.ec2(clients.homeRegion).send(new DescribeRegionsCommand({ AllRegions: true }), { abortSignal }),
      );
      regions = (output.Regions ?? [])
        .filter((region) => region.OptInStatus !== "not-opted-in")
        .flatMap((region) => (region.RegionName ? [region.RegionName] : []));
    } catch (error) {
      gaps.push({ accountId, source: "ec2:DescribeRegions", error: errorText(error) });
      return null;
    }
  }
  return { account, regions: [...new Set(regions)].filter((region) => !config.excludeRegions.includes(region)).sort() };
}

/** Reads every listing of one account and region; true when all of them were read. */
async function readRegion(
  account: AccountClients,
  region: string,
  config: InventoryConfig,
  found: EnrichedAddress[],
  gaps: CoverageGap[],
  detailErrors: CoverageGap[],
): Promise<boolean> {
  const regionFound: FoundAddress[] = [];
  const ctx: ReadContext = { accountId: account.accountId, region, callTimeoutMs: config.callTimeoutMs };
  const where = { accountId: account.accountId, region };
  const reads = [
    collect(regionFound, gaps, where, "ec2:DescribeNetworkInterfaces", () =>
      readNetworkInterfaces(account.ec2(region), ctx),
    ),
    collect(regionFound, gaps, where, "ec2:DescribeAddresses", () => readElasticIps(account.ec2(region), ctx)),
  ];
  if (config.readLightsail && config.lightsailRegions.includes(region)) {
    reads.push(
      collect(regionFound, gaps, where, "lightsail:GetInstances", () =>
        readLightsailInstances(account.lightsail(region), ctx),
      ),
      collect(regionFound, gaps, where, "lightsail:GetStaticIps", () =>
        readLightsailStaticIps(account.lightsail(region), ctx),
      ),
    );
  }
  const ok = (await Promise.all(reads)).every(Boolean);
  found.push(
    ...(await enrichRegion(
      account,
      region,
      regionFound,
      {
        ports: config.ports,
        ownerTagKeys: config.ownerTagKeys,
        resolvePaths: config.resolvePaths,
        callTimeoutMs: config.callTimeoutMs,
      },
      detailErrors,
    )),
  );
  return ok;
}

/** Runs one listing; its addresses go to `found`, its failure to `gaps`. */
async function collect(
  found: FoundAddress[],
  gaps: CoverageGap[],
  where: { accountId: string; region?: string },
  source: string,
  read: () => Promise<FoundAddress[]>,
): Promise<boolean> {
  try {
    found.push(...(await read()));
    return true;
  } catch (error) {
    gaps.push({ ...where, source, error: errorText(error) });
    return false;
  }
}

/**
 * Drops non-public addresses, keeps the most specific owner per address, then applies the tag
 * scope to that owner (an excluded instance's Elastic IP record does not bring its address back).
 * The fast path (shared/fastpath/resolve.ts) turns its reads into targets with this same function.
 */
export function toTargets(found: EnrichedAddress[], config: InventoryConfig) {
  let nonPublicDropped = 0;
  let duplicates = 0;
  const best = new Map<string, EnrichedAddress>();
  for (const candidate of found) {
    if (!isPublicAddress(candidate.ip)) {
      nonPublicDropped++;
      continue;
    }
    const key = addressOrderKey(candidate.ip);
    const current = best.get(key);
    if (current === undefined) {
      best.set(key, candidate);
      continue;
    }
    duplicates++;
    if (preferred(candidate, current)) best.set(key, candidate);
  }
  let outOfScopeByTag = 0;
  let addresses = 0;
  const byResourceType: Record<string, number> = {};
  const targets: Target[] = [];
  const paths: Record<PathVerdict, number> = { open: 0, closed: 0, unknown: 0 };
  for (const key of [...best.keys()].sort()) {
    const address = best.get(key)!;
    const { ip, asset } = address;
    if (!tagsInScope(asset.tags, config)) {
      outOfScopeByTag++;
      continue;
    }
    addresses++;
    byResourceType[asset.resourceType] = (byResourceType[asset.resourceType] ?? 0) + 1;
    for (const port of config.ports) {
      const path = config.resolvePaths ? pathOf(address, port) : undefined;
      if (path) paths[path.verdict]++;
      targets.push({ host: canonicalAddress(ip), port, asset: path ? { ...asset, path } : asset });
    }
  }
  return {
    targets,
    counts: {
      addressesSeen: found.length,
      nonPublicDropped,
      outOfScopeByTag,
      duplicates,
      addresses,
      byResourceType: Object.fromEntries(Object.entries(byResourceType).sort(([a], [b]) => (a < b ? -1 : 1))),
      targets: targets.length,
      paths,
    },
  };
}

/** Nothing read: for addresses whose verdict needs no network facts (Global Accelerator, unassociated). */
const NOTHING_READ = { ok: false, source: "nothing", error: "not read" } as const;
const NO_NETWORK: RegionNetwork = {
  rules: NOTHING_READ,
  prefixLists: new Map(),
  networkAcls: NOTHING_READ,
  routeTables: NOTHING_READ,
  loadBalancers: NOTHING_READ,
};

function pathOf(address: EnrichedAddress, port: number): ExposurePath | undefined {
  if (address.paths?.[port]) return address.paths[port];
  // Only verdicts that need no network facts; an interface whose network was not read has no path.
  if (address.subject === undefined || address.subject.kind === "interface") return undefined;
  return evaluatePath(address.subject, address.ip, port, NO_NETWORK);
}

/** Higher specificity wins; ties go to a fixed order of owner fields so the result does not depend on timing. */
function preferred(candidate: EnrichedAddress, current: EnrichedAddress): boolean {
  if (candidate.specificity !== current.specificity) return candidate.specificity > current.specificity;
  const order = (found: FoundAddress) =>
    [found.asset.accountId, found.asset.region, found.asset.resourceType, found.asset.resourceId].join("\u0000");
  return order(candidate) < order(current);
}

function compareGaps(a: CoverageGap, b: CoverageGap): number {
  const key = (gap: CoverageGap) => [gap.accountId ?? "", gap.region ?? "", gap.source, gap.error].join("\u0000");
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** "AccessDenied: User ... is not authorized ..." on one line, at most 300 characters. */
export function errorText(error: unknown): string {
  const name = error instanceof Error ? error.name : "Error";
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim();
  const text = message.startsWith(name) || name === "Error" ? message : `${name}: ${message}`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
