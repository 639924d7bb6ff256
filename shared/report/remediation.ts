// Remediation lines for report rows and ASFF findings, from the same rules the alerts use
// (shared/remediation/remediation.ts), so an auditor reads what the on-call engineer was told.
import type { Asset, Finding, StateChangeEvent } from "../exposure/model.ts";
import { ownerRef, remediationFor } from "../remediation/remediation.ts";

export interface RemediationSubject {
  port: number;
  current: Pick<StateChangeEvent["current"], "state" | "exposure" | "tls" | "protocol">;
  findings: readonly Finding[];
  asset: Asset | null;
}

function lines(subject: RemediationSubject, findings: readonly Finding[]): string[] {
  const { state, exposure, tls, protocol } = subject.current;
  return remediationFor({
    kind:
      exposure === "unauthenticated"
        ? "newly-unauthenticated"
        : exposure === "none"
          ? "resolved"
          : "newly-internet-facing",
    port: subject.port,
    previous: null,
    current: { state, exposure, tls, protocol },
    findings,
    asset: ownerRef(subject.asset),
  });
}

/** Everything to do about an endpoint: network, authentication, compromise and upgrade lines. */
export function endpointRemediation(subject: RemediationSubject): string[] {
  return lines(subject, subject.findings);
}

/** The network and authentication lines only: what closes the exposure itself. */
export function exposureRemediation(subject: RemediationSubject): string {
  return lines(subject, []).join(" ");
}

/** The lines a single finding adds to the exposure's own (an upgrade target, compromise response). */
export function findingRemediation(subject: RemediationSubject, finding: Finding): string {
  const base = new Set(lines(subject, []));
  const added = lines(subject, [finding]).filter((line) => !base.has(line));
  return (added.length > 0 ? added : [...base]).join(" ");
}
