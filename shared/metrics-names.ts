// The CloudWatch metric vocabulary shared by the handlers that emit it (Powertools Metrics, embedded
// metric format) and the infrastructure that alarms and draws dashboards on it. A metric is identified
// by namespace + name + the exact set of dimensions, so all three live here and nowhere else.
import type { AlertKind } from "./exposure/model.ts";

/** POWERTOOLS_METRICS_NAMESPACE of every function. */
export const METRICS_NAMESPACE = "ExposureMonitor";

/**
 * POWERTOOLS_SERVICE_NAME of every function. Powertools adds it to each metric as the `service`
 * dimension, so one service name for all three functions keeps alarms on a single metric identity.
 */
export const SERVICE_NAME = "exposure-monitor";

/** Dimension names: `service` is added by Powertools itself; `exposure` splits the endpoint counts. */
export const DIMENSION = {
  service: "service",
  exposure: "exposure",
  /** Alert kind (newly-unauthenticated, ...) on the per-kind AlertsSent; the total carries `service` only. */
  alertKind: "kind",
} as const;

/**
 * Custom metrics cost $0.30 a month each (per dimension combination), so the scan cycle emits only the
 * two its alarms watch (infra/monitor-stack.ts); the other figures of a scan (duration, targets, shards,
 * endpoints by exposure, probes, alerts sent) are fields of the handlers' log lines instead.
 */
export const METRIC = {
  /** Count, 1 per scan, emitted by whoever closes the scan (the last shard). Alarmed when missing. */
  scansCompleted: "ScansCompleted",
  /** Count of accounts, regions or sources that could not be read in a scan, emitted by enumerate. Alarmed. */
  coverageGaps: "CoverageGaps",
  /** Count of probes finished, emitted by the fast path's probe functions (not by the scan's probe function). */
  probesCompleted: "ProbesCompleted",
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The fast path's metrics (docs/fastpath.md): its own stack, its own cost. */
export const FASTPATH_METRIC = {
  /** Router: events that resolved to something to probe or stop. */
  fastPathEvents: "FastPathEvents",
  /** Router: probes scheduled (one per target message and delay). */
  fastPathProbesScheduled: "FastPathProbesScheduled",
  /** Router: events whose account or a listing could not be read (sts:AssumeRole denied, describe failed). Alarmed. */
  fastPathUnreadable: "FastPathUnreadable",
  /** Notify: milliseconds from the AWS change (event time) to a delivered alert from a fast-path probe. Alarmed (p90). */
  fastPathEventToAlert: "FastPathEventToAlertMs",
  /** Armed function: endpoints probed in one run. */
  armedEndpoints: "ArmedEndpoints",
} as const;

/** Every alert kind, for the per-kind AlertsSent metrics (a Record, so a new kind fails typechecking here). */
const ALERT_KIND_SET: Record<AlertKind, true> = {
  "newly-unauthenticated": true,
  "newly-internet-facing": true,
  "new-finding": true,
  resolved: true,
  "path-anomaly": true,
};
export const ALERT_KINDS = Object.keys(ALERT_KIND_SET) as AlertKind[];
