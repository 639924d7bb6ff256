// Armed: invoked every minute by a schedule (docs/fastpath.md). Probes every endpoint whose path from the
// internet is known open (exposed now, or armed by a refusal), so a server started or reconfigured without
// any AWS call alerts within a minute (shared/fastpath/armed.ts).
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import { probeArmed } from "../shared/fastpath/armed.ts";
import { DynamoFastPathLedger } from "../shared/fastpath/ledger-dynamodb.ts";
import { ENV } from "../shared/function-env.ts";
import { FASTPATH_METRIC, METRIC } from "../shared/metrics-names.ts";
import type { IpFamily } from "../shared/net/ip.ts";
import { DynamoExposureStore } from "../shared/store/dynamo-store.ts";
import { allowedMasters } from "./commons/allowed-masters.ts";
import { documentClient } from "./commons/clients.ts";
import { FunctionConfigError, optionalString, positiveInteger, requiredString } from "./commons/config.ts";
import { checkIpv6Path } from "./commons/ipv6-path.ts";
import { logger, metrics, tracer } from "./commons/powertools.ts";
import { probeContext } from "./commons/probe-context.ts";

const config = {
  tableName: requiredString(ENV.tableName),
  // The armed function outside a VPC probes IPv4 endpoints, its twin in the scanner VPC IPv6 ones.
  family: addressFamily(optionalString(ENV.armedFamily)),
  socketConcurrency: positiveInteger(ENV.probeSocketConcurrency),
  maxTargets: positiveInteger(ENV.armedMaxTargets),
  allowedMasters: allowedMasters(),
};

const store = new DynamoExposureStore({ client: documentClient, tableName: config.tableName });
const ledger = new DynamoFastPathLedger({ client: documentClient, tableName: config.tableName });

/** The scheduler's input (infra/constructs/fast-path.ts). */
export interface ArmedScheduleEvent {
  scheduledTime?: string;
}

async function run(event: ArmedScheduleEvent) {
  const scheduledTime = new Date(event.scheduledTime ?? Date.now());
  const outcome = await probeArmed({
    store,
    ledger,
    scheduledTime: Number.isNaN(scheduledTime.getTime()) ? new Date() : scheduledTime,
    maxTargets: config.maxTargets,
    ...(config.family !== undefined ? { family: config.family } : {}),
    probe: { concurrency: config.socketConcurrency, probeOptions: { allowedMasters: config.allowedMasters } },
    context: probeContext,
  });
  metrics.addMetric(FASTPATH_METRIC.armedEndpoints, MetricUnit.Count, outcome.armed);
  metrics.addMetric(METRIC.probesCompleted, MetricUnit.Count, outcome.probed);
  logger.info("armed endpoints probed", { ...outcome, events: outcome.events.length });
  return { probeId: outcome.probeId, armed: outcome.armed, probed: outcome.probed, events: outcome.events.length };
}

export const handler = middy<ArmedScheduleEvent>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics))
  .handler(async (event: ArmedScheduleEvent) => {
    await checkIpv6Path();
    return run(event);
  });

function addressFamily(value: string | undefined): IpFamily | undefined {
  if (value === undefined || value === "ipv4" || value === "ipv6") return value;
  throw new FunctionConfigError(`environment variable ${ENV.armedFamily}: "${value}" is not ipv4 or ipv6`);
}
