// PENDING (phase 2): thin middy handler delegating to shared/scan once the inventory, probe, store and
// alerts code exists. For now it only logs, so bundling and synthesis of the deployment work.
import { Logger } from "@aws-lambda-powertools/logger";
import middy from "@middy/core";

const logger = new Logger();

export const handler = middy(async (event: unknown): Promise<void> => {
  logger.warn("enumerate handler not implemented yet", { event });
});
