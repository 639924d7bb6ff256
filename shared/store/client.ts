// DynamoDB document clients: one for AWS (default credentials chain) and one for DynamoDB Local.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface DocumentClientOptions {
  /** e.g. "http://127.0.0.1:41234" for DynamoDB Local. */
  endpoint?: string;
  region?: string;
}

/** Optional fields are left out rather than stored as NULL; that is what the store's readers expect. */
const translateConfig = { marshallOptions: { removeUndefinedValues: true } };

export function createDocumentClient(options: DocumentClientOptions = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
  });
  return DynamoDBDocumentClient.from(client, translateConfig);
}

/**
 * A client for DynamoDB Local. Fixed dummy credentials and region, so that nothing from the user's AWS
 * configuration is read or sent (DynamoDB Local runs with -sharedDb, so their values do not matter).
 */
export function createLocalDocumentClient(endpoint: string): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 3,
  });
  return DynamoDBDocumentClient.from(client, translateConfig);
}
