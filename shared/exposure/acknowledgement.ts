// Acknowledgements: an exposure a person accepted (a honeypot, a deliberate demo), with a reason, an
// author and an expiry (docs/readme-acknowledgements.md). While one is active, the endpoint's changes
// are recorded as always but page no one; when it expires with the endpoint still exposed, one alert
// goes out. Revoking one (`exposure unack`) ends it at once. Records are kept for the auditor's report.
import { createHash } from "node:crypto";

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

/** "until 2026-12-31T00:00:00.000Z by alice: honeypot" for tables. */
export function describeAcknowledgement(ack: Acknowledgement): string {
  return `acknowledged until ${ack.until} by ${ack.author}: ${ack.reason}`;
}
