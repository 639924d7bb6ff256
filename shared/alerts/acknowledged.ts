// What acknowledgements do to paging (docs/readme-acknowledgements.md): a notification of an endpoint
// with an acknowledgement in force at the notification's time is held back (recorded, shown, never
// paged); when an acknowledgement expires while its endpoint is still exposed, one alert goes out.
import { type Acknowledgement, activeAcknowledgement, expiredUnalerted } from "../exposure/acknowledgement.ts";
import type { AlertKind } from "../exposure/model.ts";
import type { ExposureStore } from "../store/store.ts";
import { type Alert, notificationFor } from "./alert.ts";
import { type AlertDeliverer, type DeliveryLedger, type DeliveryReport, deliverAll } from "./deliver.ts";

/** Splits notifications into those that page and those an acknowledgement holds back. */
export function holdAcknowledged(
  notifications: readonly Alert[],
  acks: readonly Acknowledgement[],
): { page: Alert[]; held: { alert: Alert; ack: Acknowledgement }[] } {
  const page: Alert[] = [];
  const held: { alert: Alert; ack: Acknowledgement }[] = [];
  for (const alert of notifications) {
    const ack = activeAcknowledgement(acks, alert.target, alert.observedAt);
    if (ack === null) page.push(alert);
    else held.push({ alert, ack });
  }
  return { page, held };
}

/**
 * The one alert for an acknowledgement that expired while its endpoint is still exposed, or null (the
 * endpoint is no longer exposed, or a newer acknowledgement covers it). Its id derives from the
 * acknowledgement's, so a retry is the same alert and the ledger sends it at most once per channel.
 */
export async function expiryAlert(
  store: Pick<ExposureStore, "getEndpoint">,
  ack: Acknowledgement,
  acks: readonly Acknowledgement[],
): Promise<Alert | null> {
  if (activeAcknowledgement(acks, ack.endpoint, ack.until) !== null) return null;
  const state = await store.getEndpoint(ack.endpoint);
  if (state === null || state.exposure === "none") return null;
  const kind: AlertKind = state.exposure === "unauthenticated" ? "newly-unauthenticated" : "newly-internet-facing";
  const alert = notificationFor({
    eventId: `ack-expired:${ack.id}`,
    endpoint: state.endpoint,
    ip: state.ip,
    port: state.port,
    at: ack.until,
    previous: null,
    current: { state: state.state, exposure: state.exposure, tls: state.tls, server: state.server },
    findings: state.findings,
    newFindings: [],
    alerts: [kind],
    asset: state.asset,
    firstSeenAt: state.firstSeenAt,
  });
  if (alert === null) return null;
  return {
    ...alert,
    remediation: [
      `The acknowledgement by ${ack.author} ("${ack.reason}") expired at ${ack.until} and the endpoint is still exposed: fix it, or acknowledge it again with a new expiry.`,
      ...alert.remediation,
    ],
  };
}

export interface ExpiryDelivery extends DeliveryReport {
  alerts: Alert[];
}

/** Delivers the expiry alerts due at `now` and marks each acknowledgement once every channel has it. */
export async function deliverExpiryAlerts(options: {
  store: Pick<ExposureStore, "getEndpoint" | "listAcknowledgements" | "markExpiryAlerted">;
  deliverers: readonly AlertDeliverer[];
  ledger: DeliveryLedger;
  now: Date;
}): Promise<ExpiryDelivery> {
  const now = options.now.toISOString();
  const acks = await options.store.listAcknowledgements();
  const due: { ack: Acknowledgement; alert: Alert | null }[] = [];
  for (const ack of expiredUnalerted(acks, now)) due.push({ ack, alert: await expiryAlert(options.store, ack, acks) });
  const alerts = due.flatMap((item) => (item.alert ? [item.alert] : []));
  const report = await deliverAll(alerts, options.deliverers, options.ledger);
  const failed = new Set(report.failed.map((failure) => failure.alertId));
  for (const { ack, alert } of due) {
    if (alert === null || !failed.has(alert.id)) await options.store.markExpiryAlerted(ack, now);
  }
  return { ...report, alerts };
}
