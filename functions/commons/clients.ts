// AWS SDK clients, created once per execution environment and traced by X-Ray.
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createDocumentClient } from "../../shared/store/client.ts";
import { tracer } from "./powertools.ts";

export const documentClient = tracer.captureAWSv3Client(createDocumentClient());
export const sqsClient = tracer.captureAWSv3Client(new SQSClient({}));
export const snsClient = tracer.captureAWSv3Client(new SNSClient({}));
export const eventBridgeClient = tracer.captureAWSv3Client(new EventBridgeClient({}));
export const securityHubClient = tracer.captureAWSv3Client(new SecurityHubClient({}));
