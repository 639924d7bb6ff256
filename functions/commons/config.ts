// Configuration from the environment the CDK stack sets (infra/monitor-stack.ts), read once at cold start:
// a missing or malformed variable fails the init with a message naming it, before any event is touched.
import { getStringFromEnv } from "@aws-lambda-powertools/commons/utils/env";

export class FunctionConfigError extends Error {
  override name = "FunctionConfigError";
}

export function requiredString(key: string): string {
  const value = getStringFromEnv({ key, defaultValue: "" });
  if (value === "") throw new FunctionConfigError(`environment variable ${key} is required`);
  return value;
}

export function optionalString(key: string): string | undefined {
  const value = getStringFromEnv({ key, defaultValue: "" });
  return value === "" ? undefined : value;
}

export function positiveInteger(key: string, defaultValue?: number): number {
  const text = optionalString(key);
  const value = text === undefined ? (defaultValue ?? Number.NaN) : Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new FunctionConfigError(`environment variable ${key} must be a positive whole number`);
  }
  return value;
}

/** "a,b,c" -> ["a", "b", "c"]; empty or unset -> []. */
export function list(key: string): string[] {
  return (optionalString(key) ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}
