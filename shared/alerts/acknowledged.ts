// What acknowledgements do to paging (docs/readme-acknowledgements.md): a notification of an endpoint
// with an acknowledgement in force at the notification's time is held back (recorded, shown, never
// paged). Its expiry with the endpoint still exposed alerts once (ack-expiry.ts).
import { type Acknowledgement, activeAcknowledgement } from "../exposure/acknowledgement.ts";
import type { Alert } from "./alert.ts";

/** Splits notifications into those that page and those an acknowledgement holds back. */
export function holdAcknowledged(
  notifications: readonly Alert[],
  acks: readonly Acknowledgement[],
): { page: Alert[]; held: { alert: Alert; ack: Acknowledgement }[] } {
  const page: Alert[] = [];
  const held: { alert: Alert; ack: Acknowledgement }[] = [];
  for (const alert of notifications) {
    const ack = activeAcknowledgement(acks, alert.endpoint, alert.observedAt);
    if (ack === null) page.push(alert);
    else held.push({ alert, ack });
  }
  return { page, held };
}
