// `exposure inventory [options]`: every public address of the AWS accounts in scope, with its
// owner, and every account or region that could not be read.
import type { Target } from "../../shared/exposure/model.ts";
import {
  DEFAULT_INVENTORY_CONFIG,
  DEFAULT_ROLE_NAME,
  type InventoryConfig,
  InventoryConfigError,
  parseTagFilter,
  resolveInventoryConfig,
} from "../../shared/inventory/config.ts";
import type { InventorySummary } from "../../shared/inventory/enumerate.ts";
import { pathCell } from "../../shared/inventory/path/text.ts";
import { durationMs, EXIT_FAILURE, EXIT_OK, intOption, parseCommandArgs, UsageError } from "../args.ts";
import { formatTable } from "../output.ts";

/** The options that choose what is read; `exposure scan --aws` can accept the same ones. */
export const INVENTORY_OPTIONS = {
  org: { type: "boolean" },
  accounts: { type: "string" },
  "exclude-accounts": { type: "string" },
  regions: { type: "string" },
  "exclude-regions": { type: "string" },
  "include-tag": { type: "string", multiple: true },
  "exclude-tag": { type: "string", multiple: true },
  ports: { type: "string" },
  "role-name": { type: "string" },
  "external-id": { type: "string" },
  concurrency: { type: "string" },
  "call-timeout": { type: "string" },
  "no-lightsail": { type: "boolean" },
  "no-global-accelerator": { type: "boolean" },
  "no-paths": { type: "boolean" },
  "owner-tags": { type: "string" },
} as const;

export const INVENTORY_OPTIONS_HELP = `  --org                   read every ACTIVE account of the organization (organizations:ListAccounts;
                          run with management or delegated-administrator credentials)
  --accounts IDS          read these accounts (comma-separated ids); default: only the caller's account
  --exclude-accounts IDS  never read these accounts
  --regions LIST          read exactly these regions (default: every enabled region, from ec2:DescribeRegions)
  --exclude-regions LIST  skip these regions
  --include-tag K[=V]     keep only resources with this tag (repeatable; any one matches)
  --exclude-tag K[=V]     drop resources with this tag (repeatable)
  --ports LIST            ports to target on each address (default ${DEFAULT_INVENTORY_CONFIG.ports.join(",")})
  --role-name NAME        role assumed in every other account (default ${DEFAULT_ROLE_NAME})
  --external-id ID        external id for sts:AssumeRole
  --concurrency N         account-region reads at once (default ${DEFAULT_INVENTORY_CONFIG.concurrency})
  --call-timeout DURATION deadline for one AWS call, retries included (default ${DEFAULT_INVENTORY_CONFIG.callTimeoutMs / 1000}s)
  --no-lightsail          do not read Lightsail instances and static IPs
  --no-global-accelerator do not read Global Accelerator
  --no-paths              do not resolve the path from the internet (security groups, network ACLs, routes)
  --owner-tags KEYS       tag keys that name an owner, carried into targets and alerts (default ${DEFAULT_INVENTORY_CONFIG.ownerTagKeys.join(",")})`;

const HELP = `usage: exposure inventory [options]

Lists every public IP address of the AWS accounts in scope with its owner (account, region,
resource), one line per address and port, and the coverage: what was read and what could not be.
Credentials come from the standard AWS chain; AWS_ENDPOINT_URL(_<SERVICE>) is honoured.

Output: a table and a summary on stdout; with --json, one JSON target per line on stdout
and the summary as one JSON line {"summary": ...} on stderr.

options:
${INVENTORY_OPTIONS_HELP}
  --json                  JSON lines (see above)
  --strict                exit ${EXIT_FAILURE} when any account, region or listing could not be read
  -h, --help              show this help`;

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  return items;
}

export type InventoryOptionValues = {
  [K in keyof typeof INVENTORY_OPTIONS]?: (typeof INVENTORY_OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof INVENTORY_OPTIONS)[K] extends { type: "boolean" }
      ? boolean
      : string;
};

/** Turns parsed INVENTORY_OPTIONS into a checked configuration; bad values throw UsageError. */
export function inventoryConfigFromOptions(values: InventoryOptionValues): InventoryConfig {
  if (values.org && values.accounts !== undefined) throw new UsageError("use either --org or --accounts, not both");
  const accountIds = list(values.accounts);
  const ports = list(values.ports)?.map((port) => intOption("ports", port, 0, 1, 65_535));
  try {
    return resolveInventoryConfig({
      accounts: values.org
        ? { kind: "organization" }
        : accountIds !== undefined
          ? { kind: "accounts", accountIds }
          : { kind: "current" },
      excludeAccounts: list(values["exclude-accounts"]) ?? [],
      regions: list(values.regions) ?? null,
      excludeRegions: list(values["exclude-regions"]) ?? [],
      includeTags: (values["include-tag"] ?? []).map(parseTagFilter),
      excludeTags: (values["exclude-tag"] ?? []).map(parseTagFilter),
      ...(ports === undefined ? {} : { ports }),
      roleName: values["role-name"] ?? DEFAULT_ROLE_NAME,
      externalId: values["external-id"] ?? null,
      concurrency: intOption("concurrency", values.concurrency, DEFAULT_INVENTORY_CONFIG.concurrency, 1, 10_000),
      callTimeoutMs:
        values["call-timeout"] === undefined
          ? DEFAULT_INVENTORY_CONFIG.callTimeoutMs
          : durationMs("call-timeout", values["call-timeout"]),
      readLightsail: !values["no-lightsail"],
      readGlobalAccelerator: !values["no-global-accelerator"],
      resolvePaths: !values["no-paths"],
      ownerTagKeys: list(values["owner-tags"]) ?? DEFAULT_INVENTORY_CONFIG.ownerTagKeys,
    });
  } catch (error) {
    if (error instanceof InventoryConfigError) throw new UsageError(error.message);
    throw error;
  }
}

const COLUMNS = ["ENDPOINT", "ACCOUNT", "REGION", "TYPE", "RESOURCE", "NAME", "PATH"];

function targetRow(target: Target): string[] {
  const endpoint = target.host.includes(":") ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const asset = target.asset;
  return [
    endpoint,
    asset?.accountId ?? "",
    asset?.region ?? "",
    asset?.resourceType ?? "",
    asset?.resourceId ?? "",
    asset?.name ?? "",
    pathCell(asset?.path),
  ];
}

/** The human summary: counts, then one line per gap. */
export function formatSummary(summary: InventorySummary): string {
  const { counts } = summary;
  const lines = [
    `${counts.targets} targets (${counts.addresses} public addresses) from ${summary.accountsRead.length}/${counts.accounts} accounts, ` +
      `${counts.accountRegionsRead}/${counts.accountRegions} account-regions, in ${(summary.durationMs / 1000).toFixed(1)}s`,
    `dropped: ${counts.nonPublicDropped} non-public, ${counts.outOfScopeByTag} out of tag scope, ${counts.duplicates} duplicates`,
  ];
  if (counts.paths && counts.paths.open + counts.paths.closed + counts.paths.unknown > 0) {
    lines.push(`paths: ${counts.paths.open} open, ${counts.paths.closed} closed, ${counts.paths.unknown} unknown`);
  }
  for (const error of summary.detailErrors ?? []) {
    lines.push(
      `  not read (names only): ${[error.accountId, error.region].filter(Boolean).join(" ")}  ${error.source}  ${error.error}`,
    );
  }
  if (summary.gaps.length === 0) lines.push("coverage gaps: none");
  else {
    lines.push(`coverage gaps: ${summary.gaps.length}`);
    for (const gap of summary.gaps) {
      const where = [gap.accountId ?? "organization", gap.region].filter(Boolean).join(" ");
      lines.push(`  ${where}  ${gap.source}  ${gap.error}`);
    }
  }
  return lines.join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      ...INVENTORY_OPTIONS,
      json: { type: "boolean" },
      strict: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    false,
  );
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const config = inventoryConfigFromOptions(values);
  // The AWS SDK loads only once the options are known to be good: bad input and --help stay instant.
  const { readAwsTargets } = await import("../../shared/inventory/index.ts");
  const result = await readAwsTargets(config);
  if (values.json) {
    process.stdout.write(result.targets.map((target) => `${JSON.stringify(target)}\n`).join(""));
    process.stderr.write(`${JSON.stringify({ summary: result.summary })}\n`);
  } else {
    if (result.targets.length > 0) process.stdout.write(`${formatTable(COLUMNS, result.targets.map(targetRow))}\n\n`);
    process.stdout.write(`${formatSummary(result.summary)}\n`);
  }
  return values.strict && result.summary.gaps.length > 0 ? EXIT_FAILURE : EXIT_OK;
}
