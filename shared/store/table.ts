// Creating the table where nobody else does: on first use of a local store, and in tests.
// In AWS the CDK stack owns the table (same schema, from TABLE_SCHEMA).
import { CreateTableCommand, DescribeTableCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createTableInput } from "./schema.ts";

/** Creates the table unless it exists; waits until it is usable. Returns whether this call created it. */
export async function ensureTable(client: DynamoDBDocumentClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return false;
  } catch (error) {
    if (!(error instanceof Error) || error.name !== "ResourceNotFoundException") throw error;
  }
  let created = true;
  try {
    const { TableDescription } = await client.send(new CreateTableCommand(createTableInput(tableName)));
    // DynamoDB Local creates tables ACTIVE at once; DynamoDB takes a few seconds.
    if (TableDescription?.TableStatus === "ACTIVE") return true;
  } catch (error) {
    // Another process created it between our describe and create.
    if (!(error instanceof Error) || error.name !== "ResourceInUseException") throw error;
    created = false;
  }
  await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: tableName });
  return created;
}
