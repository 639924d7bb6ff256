// The ALERT cell of the scan, watch and history tables, apart from output.ts: it needs the alert rules,
// which commands that print no changes (probe) should not load at start (docs/readme-cli.md, "Start-up").
import { notificationFor } from "../shared/alerts/alert.ts";
import type { StateChangeEvent } from "../shared/exposure/model.ts";

/**
 * The ALERT cell of a change: the one notification it made (the most severe rule it fired,
 * docs/architecture.md "One notification per change"), then the other rules it fired, which went out
 * inside that notification, never on their own: "newly-unauthenticated (+new-finding)"; "-" for none.
 */
export function alertCell(event: StateChangeEvent): string {
  const sent = notificationFor(event)?.kind;
  if (sent === undefined) return "-";
  const inside = [...new Set(event.alerts)].filter((kind) => kind !== sent);
  return inside.length === 0 ? sent : `${sent} (+${inside.join(", +")})`;
}
