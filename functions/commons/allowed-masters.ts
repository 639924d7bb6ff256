// ALLOWED_MASTERS as an AddressSet, for the functions that probe (a malformed entry fails the cold start).
import { ENV } from "../../shared/function-env.ts";
import { AddressSet } from "../../shared/net/ip.ts";
import { FunctionConfigError, list } from "./config.ts";

export function allowedMasters(): AddressSet {
  try {
    return new AddressSet(list(ENV.allowedMasters));
  } catch (error) {
    throw new FunctionConfigError(`environment variable ${ENV.allowedMasters}: ${(error as Error).message}`);
  }
}
