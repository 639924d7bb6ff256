// State changes as EventBridge events on a bus (the account's default bus unless configured), for rules
// that route them to Jira, PagerDuty, Teams or a SOAR. Schema: docs/readme-outputs.md.
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { alertsFromEvent } from "../alerts/alert.ts";
import { awsDeliveryError, DeliveryError } from "../alerts/retry.ts";
import type { AlertKind, Severity, StateChangeEvent } from "../exposure/model.ts";
import type { EventPublisher } from "./publish.ts";

export const EVENT_SOURCE = "exposure-monitor";
export const EVENT_DETAIL_TYPE = "Exposure State Change";
export const EVENT_DETAIL_VERSION = 1;

/** The `detail` of an "Exposure State Change" event. */
export interface ExposureStateChangeDetail {
  version: typeof EVENT_DETAIL_VERSION;
  eventId: string;
  endpoint: string;
  ip: string;
  port: number;
  observedAt: string;
  firstSeenAt: string;
  previous: { state: string; exposure: string } | null;
  current: {
    state: string;
    exposure: string;
    tls: boolean;
    /** The protocol spoken (ProbeResult.protocol.name). */
    protocol: string;
    product: string | null;
    version: string | null;
  };
  /** Alert kinds this change raised (none for a change that alerts no one, e.g. closed to filtered). */
  alerts: AlertKind[];
  /** The most severe of its alerts, or "info" when it raised none. */
  severity: Severity;
  findings: { id: string; kind: string; severity: Severity; title: string }[];
  newFindings: string[];
  asset: {
    account: string;
    region: string;
    resourceType: string;
    resourceId: string;
    name: string | null;
    owners: Record<string, string>;
  } | null;
  scanId: string | null;
}

const RANK: Severity[] = ["info", "low", "medium", "high", "critical"];

export function stateChangeDetail(event: StateChangeEvent): ExposureStateChangeDetail {
  const severity = alertsFromEvent(event)
    .map((alert) => alert.severity)
    .reduce<Severity>((worst, next) => (RANK.indexOf(next) > RANK.indexOf(worst) ? next : worst), "info");
  return {
    version: EVENT_DETAIL_VERSION,
    eventId: event.eventId,
    endpoint: event.endpoint,
    ip: event.ip,
    port: event.port,
    observedAt: event.at,
    firstSeenAt: event.firstSeenAt,
    previous: event.previous ? { state: event.previous.state, exposure: event.previous.exposure } : null,
    current: {
      state: event.current.state,
      exposure: event.current.exposure,
      tls: event.current.tls,
      protocol: event.current.protocol.name,
      product: event.current.protocol.product ?? null,
      version: event.current.protocol.version ?? null,
    },
    alerts: [...new Set(event.alerts)],
    severity,
    findings: event.findings.map((finding) => ({
      id: finding.id,
      kind: finding.kind,
      severity: finding.severity,
      title: finding.title.slice(0, 300),
    })),
    newFindings: event.newFindings.map((finding) => finding.id),
    asset: event.asset
      ? {
          account: event.asset.accountId,
          region: event.asset.region,
          resourceType: event.asset.resourceType,
          resourceId: event.asset.resourceId,
          name: event.asset.name ?? null,
          owners: { ...(event.asset.owners ?? {}) },
        }
      : null,
    scanId: event.scanId ?? null,
  };
}

export function putEventsEntry(event: StateChangeEvent, eventBusName: string): PutEventsRequestEntry {
  return {
    EventBusName: eventBusName,
    Source: EVENT_SOURCE,
    DetailType: EVENT_DETAIL_TYPE,
    Time: new Date(event.at),
    Resources: [],
    Detail: JSON.stringify(stateChangeDetail(event)),
  };
}

export class EventBridgePublisher implements EventPublisher {
  readonly name: string;
  readonly #client: EventBridgeClient;
  readonly #bus: string;

  constructor(options: { client: EventBridgeClient; eventBusName: string }) {
    this.name = `events:${options.eventBusName}`;
    this.#client = options.client;
    this.#bus = options.eventBusName;
  }

  async publish(event: StateChangeEvent): Promise<void> {
    let output: PutEventsCommandOutput;
    try {
      output = await this.#client.send(new PutEventsCommand({ Entries: [putEventsEntry(event, this.#bus)] }));
    } catch (error) {
      throw awsDeliveryError("EventBridge PutEvents", error);
    }
    // PutEvents answers 200 with per-entry errors: an entry can fail while the call succeeds.
    if ((output.FailedEntryCount ?? 0) > 0) {
      const entry = output.Entries?.[0];
      const code = entry?.ErrorCode ?? "unknown";
      throw new DeliveryError(`EventBridge PutEvents: entry failed: ${code}: ${entry?.ErrorMessage ?? ""}`.trim(), {
        retryable: /Throttl|InternalFailure|ServiceUnavailable/i.test(code),
      });
    }
  }
}
