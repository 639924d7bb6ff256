// What a protocol says to people: the words alerts, remediation and reports use for an endpoint of that
// protocol (docs/architecture.md, "Protocol modules"). Each protocol's words live in its module's folder
// (shared/probe/<name>/text.ts, which imports nothing of the probe) and are registered in registry.ts, so
// that alerts and reports take them by the endpoint's protocol name and know no probe internals.
import type { AlertKind, EndpointSnapshot, ExposureLevel, Finding, ProtocolFacts } from "../exposure/model.ts";

/** What advice is written about: the endpoint's last observation, its findings and its port. */
export interface AdviceSubject {
  current: EndpointSnapshot;
  findings: readonly Finding[];
  port: number;
}

export interface ProtocolText {
  /** The protocol's name, as a `Target` and a result's `protocol.name` give it. */
  readonly name: string;
  /** The protocol as titles name it ("<label> at <endpoint> answers without authentication ..."). */
  readonly label: string;
  /** Headlines of the alert kinds this protocol words itself; the others keep the neutral ones. */
  readonly headlines: Partial<Record<AlertKind, string>>;
  /** The title of an endpoint's exposure as a finding (reports, Security Hub). */
  exposureTitle(exposure: "reachable" | "unauthenticated"): string;
  /** The server in a few words (product, version, role); null when it said nothing about itself. */
  describeServer(facts: ProtocolFacts): string | null;
  /** Advice before the network steps (a compromised host is isolated before anything else). */
  firstSteps(subject: AdviceSubject): string[];
  /** Advice after the network steps: the server's own configuration for its state, then upgrades. */
  serverSteps(subject: AdviceSubject): string[];
  /** Advice once an exposure ended (what to check for, given what it was). */
  resolvedSteps(subject: AdviceSubject & { previous: ExposureLevel | null }): string[];
}
