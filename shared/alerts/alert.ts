// The alert object: what every channel (console, JSONL, SNS, webhook) carries. One notification per
// recorded state-change event, of its most severe rule; its id is derived from the event, so a
// redelivered event yields the same alert and the delivery ledger can skip it.
import { createHash } from "node:crypto";
import type {
  AlertKind,
  EndpointSnapshot,
  ExposureLevel,
  Finding,
  Severity,
  StateChangeEvent,
} from "../exposure/model.ts";
import { type OwnerRef, ownerRef, remediationFor } from "../remediation/remediation.ts";

/** Who owns the address, in the alert's own vocabulary (docs/readme-alerts.md). */
export type AlertAsset = OwnerRef;

export interface Alert {
  /** Deterministic: derived from the state-change event id and the alert kind. */
  id: string;
  kind: AlertKind;
  severity: Severity;
  /** "ip:port" or "[ipv6]:port" (formatEndpoint), as events name it. */
  endpoint: string;
  previous: ExposureLevel | null;
  current: EndpointSnapshot;
  /** new-finding: the findings that appeared; other kinds: all findings at this observation. */
  findings: Finding[];
  asset: AlertAsset | null;
  observedAt: string;
  firstSeenAt: string;
  remediation: string[];
}

const KIND_SEVERITY: Record<Exclude<AlertKind, "new-finding">, Severity> = {
  "newly-unauthenticated": "critical",
  "newly-internet-facing": "high",
  resolved: "info",
  "path-anomaly": "high",
};

/** The same event id and kind always give the same alert id, whatever process computes it. */
export function alertId(eventId: string, kind: AlertKind): string {
  return createHash("sha256").update(`${eventId}\n${kind}`).digest("hex").slice(0, 32);
}

/** The owner as alerts name it. */
export const alertAsset = ownerRef;

/** A new finding alerts critical when any new finding is critical (critical CVE, compromise), else high. */
export function findingSeverity(findings: readonly Finding[]): Severity {
  return findings.some((finding) => finding.severity === "critical") ? "critical" : "high";
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };

/**
 * The one notification a state-change event makes (docs/architecture.md, "One notification per change"):
 * of the rules that fired, the most severe (an exposure rule before new-finding at equal severity), with
 * every finding of the observation inside it; null when no rule fired. `new-finding` is the kind only when
 * it is more severe than the exposure rule beside it, or when no exposure rule fired.
 */
export function notificationFor(event: StateChangeEvent): Alert | null {
  const candidates = alertsFromEvent(event);
  let chosen: Alert | null = null;
  for (const alert of candidates) {
    if (chosen === null || SEVERITY_RANK[alert.severity] > SEVERITY_RANK[chosen.severity]) chosen = alert;
  }
  if (chosen === null) return null;
  const exposureRuleFired = candidates.some((alert) => alert.kind !== "new-finding");
  if (chosen.kind !== "new-finding" || !exposureRuleFired) return chosen;
  // A new finding that outranks the exposure change beside it still carries all the observation's findings.
  const { kind, previous, current, asset } = chosen;
  const findings = event.findings;
  return {
    ...chosen,
    findings,
    remediation: [
      ...expiryReminder(event),
      ...remediationFor({ kind, port: event.port, previous, current, findings, asset }),
    ],
  };
}

/**
 * One alert per rule the event fired, in the event's order; none when none fired. What is delivered is
 * notificationFor(event), the one of them that goes out.
 */
export function alertsFromEvent(event: StateChangeEvent): Alert[] {
  const asset = alertAsset(event.asset);
  const current = {
    state: event.current.state,
    exposure: event.current.exposure,
    tls: event.current.tls,
    protocol: event.current.protocol,
  };
  const previous = event.previous ? { state: event.previous.state, exposure: event.previous.exposure } : null;
  const kinds = [...new Set(event.alerts)];
  return kinds.map((kind) => {
    // A new-finding event always carries its new findings; fall back to all rather than alert with none.
    const findings = kind === "new-finding" && event.newFindings.length > 0 ? event.newFindings : event.findings;
    const severity = kind === "new-finding" ? findingSeverity(findings) : KIND_SEVERITY[kind];
    return {
      id: alertId(event.eventId, kind),
      kind,
      severity,
      endpoint: event.endpoint,
      previous,
      current,
      findings,
      asset,
      observedAt: event.at,
      firstSeenAt: event.firstSeenAt,
      remediation: [
        ...expiryReminder(event),
        ...remediationFor({ kind, port: event.port, previous, current, findings, asset }),
      ],
    };
  });
}

/** The first remediation line of an expired acknowledgement's alert (docs/readme-acknowledgements.md). */
function expiryReminder(event: StateChangeEvent): string[] {
  const ack = event.acknowledgementExpired;
  if (ack === undefined) return [];
  return [
    `The acknowledgement by ${ack.author} ("${ack.reason}") expired at ${ack.until} and the endpoint is still exposed: fix it, or acknowledge it again with a new expiry.`,
  ];
}
