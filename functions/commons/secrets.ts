// Reads a Secrets Manager secret through the AWS Parameters and Secrets Lambda extension (a layer the
// stack adds when a secret is configured): a localhost HTTP call with caching, no extra SDK client.
import { FunctionConfigError, requiredString } from "./config.ts";

export async function secretFromExtension(secretId: string, timeoutMs = 5_000): Promise<string> {
  const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? "2773";
  const url = `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { "X-Aws-Parameters-Secrets-Token": requiredString("AWS_SESSION_TOKEN") },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new FunctionConfigError(`reading secret ${secretId} through the extension failed: ${String(error)}`);
  }
  if (!response.ok) throw new FunctionConfigError(`reading secret ${secretId} failed: HTTP ${response.status}`);
  const body = (await response.json()) as { SecretString?: unknown };
  if (typeof body.SecretString !== "string" || body.SecretString.trim() === "") {
    throw new FunctionConfigError(`secret ${secretId} has no string value`);
  }
  return body.SecretString.trim();
}
