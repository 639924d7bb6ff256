// Powertools utilities shared by the three handlers, created once per execution environment. Namespace and
// service are fixed from shared/metrics-names.ts so the metrics match the alarms and dashboard exactly.
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../shared/metrics-names.ts";

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
// AWS SDK clients are traced one by one (clients.ts). Outgoing HTTP is not captured: a trace segment records
// the request URL, and the Slack webhook's URL is a secret (docs/readme-alerts.md).
export const tracer = new Tracer({ serviceName: SERVICE_NAME, captureHTTPsRequests: false });
