// The inventory's public surface. `readAwsTargets` is the one-call target source for
// `exposure scan --aws` and the enumerate Lambda; the rest is for callers that manage clients themselves.
import { type AwsClientFactoryOptions, createAwsClientFactory } from "./clients.ts";
import type { InventoryConfig } from "./config.ts";
import { enumeratePublicTargets, type InventoryResult } from "./enumerate.ts";

export type { AccountAccess, AccountClients, AwsClientFactoryOptions, InventoryClientFactory } from "./clients.ts";
export { createAwsClientFactory } from "./clients.ts";
export type { AccountSource, InventoryConfig, TagFilter } from "./config.ts";
export {
  DEFAULT_INVENTORY_CONFIG,
  DEFAULT_PORTS,
  DEFAULT_ROLE_NAME,
  InventoryConfigError,
  parseTagFilter,
  resolveInventoryConfig,
} from "./config.ts";
export type { InventoryCounts, InventoryResult, InventorySummary } from "./enumerate.ts";
export { enumeratePublicTargets, InventoryCredentialsError } from "./enumerate.ts";

/**
 * Enumerates with fresh clients from the standard credential chain and closes them afterwards.
 * `result.targets` are ready to probe; `result.summary.gaps` belong in the scan record.
 */
export async function readAwsTargets(
  config: Partial<InventoryConfig> = {},
  clientOptions: AwsClientFactoryOptions = {},
): Promise<InventoryResult> {
  const clients = createAwsClientFactory({ callTimeoutMs: config.callTimeoutMs, ...clientOptions });
  try {
    return await enumeratePublicTargets(config, clients);
  } finally {
    clients.destroy();
  }
}
