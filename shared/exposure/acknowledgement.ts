// Acknowledgements: an exposure a person accepted (a honeypot, a deliberate demo), with a reason, an
// author and an expiry (docs/readme-acknowledgements.md). While one is active, the endpoint's changes
// are recorded as always but page no one; when it expires with the endpoint still exposed, one alert
// goes out. Revoking one (`exposure unack`) ends it at once. Records are kept for the auditor's report.
import { createHash } from "node:crypto";
import type { AlertKind, StateChangeEvent } from "./model.ts";
import type { EndpointState } from "./transitions.ts";

export interface Acknowledgement {
  /** Derived from the endpoint and the time it was made. */
  id: string;
  /** "ip:port" or "[ipv6]:port". */
  endpoint: string;
  reason: string;
  author: string;
  createdAt: string;
  /** The acknowledgement ends at this time (exclusive). */
  until: string;
  revokedAt: string | null;
  revokedBy: string | null;
  /** When the one alert for its expiry was raised, if it was. */
  expiryAlertedAt: string | null;
}

export function acknowledgementId(endpoint: string, createdAt: string): string {
  return createHash("sha256").update(`ack\n${endpoint}\n${createdAt}`).digest("hex").slice(0, 24);
}

/** When it stops counting: its expiry, or its revocation if earlier. */
export function acknowledgementEnd(ack: Acknowledgement): string {
  return ack.revokedAt !== null && ack.revokedAt < ack.until ? ack.revokedAt : ack.until;
}

export function isActiveAt(ack: Acknowledgement, at: string): boolean {
  return ack.createdAt <= at && at < acknowledgementEnd(ack);
}

/** The acknowledgement of `endpoint` in force at `at` (the latest made, when several overlap). */
export function activeAcknowledgement(
  acks: readonly Acknowledgement[],
  endpoint: string,
  at: string,
): Acknowledgement | null {
  let found: Acknowledgement | null = null;
  for (const ack of acks) {
    if (ack.endpoint === endpoint && isActiveAt(ack, at) && (found === null || ack.createdAt > found.createdAt)) {
      found = ack;
    }
  }
  return found;
}

/** Acknowledgements in force at any time of [from, to). */
export function acknowledgementsOverlapping(
  acks: readonly Acknowledgement[],
  from: string,
  to: string,
): Acknowledgement[] {
  return acks.filter((ack) => ack.createdAt < to && acknowledgementEnd(ack) > from);
}

/** Expired (not revoked) acknowledgements whose one expiry alert has not been raised yet. */
export function expiredUnalerted(acks: readonly Acknowledgement[], now: string): Acknowledgement[] {
  return acks.filter((ack) => ack.revokedAt === null && ack.until <= now && ack.expiryAlertedAt === null);
}

/**
 * The one event an expired acknowledgement makes when `state` (the endpoint's record now) is still exposed,
 * else null. Its time is the expiry and its id derives from the acknowledgement's, so recording it again
 * (a retry, a second process) is the same item. It raises the exposure's alert as a first sighting would.
 */
export function acknowledgementExpiryEvent(ack: Acknowledgement, state: EndpointState | null): StateChangeEvent | null {
  if (state === null || state.exposure === "none") return null;
  const kind: AlertKind = state.exposure === "unauthenticated" ? "newly-unauthenticated" : "newly-internet-facing";
  return {
    eventId: createHash("sha256").update(`ack-expired\n${ack.id}\n${ack.until}`).digest("hex").slice(0, 20),
    endpoint: state.endpoint,
    ip: state.ip,
    port: state.port,
    at: ack.until,
    previous: { state: state.state, exposure: state.exposure },
    current: {
      state: state.state,
      exposure: state.exposure,
      tls: state.tls,
      protocol: state.protocol,
      ...(state.certificate ? { certificate: state.certificate } : {}),
    },
    findings: state.findings,
    newFindings: [],
    alerts: [kind],
    asset: state.asset,
    firstSeenAt: state.firstSeenAt,
    acknowledgementExpired: { id: ack.id, author: ack.author, reason: ack.reason, until: ack.until },
  };
}

/** "until 2026-12-31T00:00:00.000Z by alice: honeypot" for tables. */
export function describeAcknowledgement(ack: Acknowledgement): string {
  return `acknowledged until ${ack.until} by ${ack.author}: ${ack.reason}`;
}
