// The inventory's settings from the environment (accounts, regions, ports, member role): read the same way
// by the enumerate function (the sweep) and the router (the fast path, docs/fastpath.md).
import { ENV } from "../../shared/function-env.ts";
import { resolveInventoryConfig } from "../../shared/inventory/config.ts";
import type { AccountSource } from "../../shared/inventory/index.ts";
import { FunctionConfigError, list, requiredString } from "./config.ts";

export function inventoryConfig() {
  const accounts = list(ENV.accounts);
  const regions = list(ENV.regions);
  const ports = list(ENV.probePorts);
  try {
    return resolveInventoryConfig({
      accounts: accountSource(accounts),
      regions: regions.length > 0 ? regions : null,
      ports: ports.map(Number),
      roleName: requiredString(ENV.memberRoleName),
      externalId: requiredString(ENV.externalId),
    });
  } catch (error) {
    if (error instanceof FunctionConfigError) throw error;
    // InventoryConfigError names the field; say which variables feed it.
    throw new FunctionConfigError(
      `environment variables ${[ENV.accounts, ENV.regions, ENV.probePorts, ENV.memberRoleName, ENV.externalId].join("/")}: ${(error as Error).message}`,
    );
  }
}

function accountSource(values: string[]): AccountSource {
  if (values.length === 0 || (values.length === 1 && values[0] === "organization")) return { kind: "organization" };
  if (values.length === 1 && values[0] === "current") return { kind: "current" };
  return { kind: "accounts", accountIds: values };
}
