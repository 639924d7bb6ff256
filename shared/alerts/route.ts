// Routing by severity: a channel can take only alerts at or above a floor (docs/readme-alerts.md,
// "Routing"). In AWS, email subscriptions get the floor as an SNS filter policy on the `severity`
// attribute (critical only by default); a deliverer in code (the Slack webhook) is wrapped here.
import type { Severity } from "../exposure/model.ts";
import type { Alert } from "./alert.ts";
import type { AlertDeliverer } from "./deliver.ts";

/** Least to most severe. */
export const SEVERITY_ORDER: readonly Severity[] = ["info", "low", "medium", "high", "critical"];

export function isSeverity(value: string): value is Severity {
  return (SEVERITY_ORDER as readonly string[]).includes(value);
}

/** The severities at or above a floor, for a filter policy's allow list. */
export function severitiesAtLeast(floor: Severity): Severity[] {
  return SEVERITY_ORDER.slice(SEVERITY_ORDER.indexOf(floor));
}

export function meetsFloor(alert: Pick<Alert, "severity">, floor: Severity): boolean {
  return SEVERITY_ORDER.indexOf(alert.severity) >= SEVERITY_ORDER.indexOf(floor);
}

/** Passes alerts at or above `floor` to `inner`; the rest are done without being sent. */
export class SeverityFloorDeliverer implements AlertDeliverer {
  readonly name: string;
  readonly #inner: AlertDeliverer;
  readonly #floor: Severity;

  constructor(inner: AlertDeliverer, floor: Severity) {
    this.name = inner.name;
    this.#inner = inner;
    this.#floor = floor;
  }

  async deliver(alert: Alert): Promise<void> {
    if (meetsFloor(alert, this.#floor)) await this.#inner.deliver(alert);
  }
}
