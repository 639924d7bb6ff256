// Configuration from the environment the CDK stack sets (names: shared/function-env.ts), read once at cold start:
// a missing or malformed variable fails the init with a message naming it, before any event is touched.
import { getStringFromEnv } from "@aws-lambda-powertools/commons/utils/env";
import type { EnvName } from "../../shared/function-env.ts";

/** The contract's names (shared/function-env.ts), and the one variable the Lambda runtime itself sets that is read. */
type Key = EnvName | "AWS_SESSION_TOKEN";

export class FunctionConfigError extends Error {
  override name = "FunctionConfigError";
}

export function requiredString(key: Key): string {
  const value = getStringFromEnv({ key, defaultValue: "" });
  if (value === "") throw new FunctionConfigError(`environment variable ${key} is required`);
  return value;
}

export function optionalString(key: Key): string | undefined {
  const value = getStringFromEnv({ key, defaultValue: "" });
  return value === "" ? undefined : value;
}

export function positiveInteger(key: Key, defaultValue?: number): number {
  const text = optionalString(key);
  const value = text === undefined ? (defaultValue ?? Number.NaN) : Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new FunctionConfigError(`environment variable ${key} must be a positive whole number`);
  }
  return value;
}

/** "a,b,c" -> ["a", "b", "c"]; empty or unset -> []. */
export function list(key: Key): string[] {
  return (optionalString(key) ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}
