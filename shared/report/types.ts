// The auditor's report as data: what every renderer (JSON, Markdown, CSV, HTML) prints.
// Times are ISO-8601 UTC strings, durations whole milliseconds. The period is half-open: [from, to).
import type { Acknowledgement } from "../exposure/acknowledgement.ts";
import type {
  AlertKind,
  Asset,
  CoverageGap,
  Exposure,
  ProbeState,
  ScanRecord,
  Severity,
  StateChangeEvent,
} from "../exposure/model.ts";
import type { EndpointState } from "../exposure/transitions.ts";

export interface Period {
  from: string;
  to: string;
}

/** What a report is computed from; the store's query layer assembles it, the domain never reads a table. */
export interface ReportInput {
  period: Period;
  /**
   * Scans that started or completed in the period, plus those completed in the two schedule
   * intervals before it (they cover the period's first minutes).
   */
  scans: ScanRecord[];
  /**
   * The events of the period, plus, per endpoint, the events before `from` that give its state at `from`
   * (at least the last one, and back to the start of its exposure when it was exposed then).
   * Events at or after `to` are ignored.
   */
  events: StateChangeEvent[];
  /** How often a scan is scheduled; a moment counts as covered when a scan completed less than two intervals earlier. */
  scheduleIntervalMs: number;
  generatedAt: string;
  /** The table (or local store) the report was read from, named in the report and its manifest. */
  table: string;
  /** Acknowledgements (shared/exposure/acknowledgement.ts); those in force during the period are listed. */
  acknowledgements?: Acknowledgement[];
  /** Latent exposures now (shared/report/latent.ts): open paths where nothing answers. */
  latent?: EndpointState[];
}

/** An open path from the whole internet on a monitored port where nothing answered (docs/readme-path.md). */
export interface LatentExposure {
  endpoint: string;
  state: ProbeState;
  observedAt: string;
  owner: Asset | null;
  /** The path in one line: the rule, ACL entry and route that open it. */
  path: string;
  /** The rules to change and the commands that close the path. */
  remediation: string;
}

export type ExposedLevel = Exclude<Exposure, "none">;

/** One continuous interval during which an endpoint was reachable or unauthenticated. */
export interface ExposureWindow {
  endpoint: string;
  ip: string;
  port: number;
  /** The worst level during the window (unauthenticated beats reachable). */
  level: ExposedLevel;
  /** Every probe state seen in the window, in order of first appearance. */
  states: ProbeState[];
  /** The true start, even when before the period. */
  start: string;
  /** When exposure returned to none; null while still exposed at the end of the period ("open"). */
  end: string | null;
  startedBeforePeriod: boolean;
  /** The part of the window inside the period. */
  durationInPeriodMs: number;
  /** end - start (true start) for windows that closed inside the period; null for open ones. */
  timeToRemediateMs: number | null;
  /** The owner as last recorded in the window. */
  owner: Asset | null;
  /** Alert kinds raised by the window's events (the closing event's "resolved" included), in order of first use. */
  alerts: AlertKind[];
}

export type ScanStatus = "completed" | "incomplete";

export interface ScanSummary {
  scanId: string;
  startedAt: string;
  completedAt: string | null;
  status: ScanStatus;
  targets: number;
  shards: number;
  shardsDone: number;
  accountsRead: string[];
  regionsRead: string[];
  gaps: CoverageGap[];
}

export interface Interval {
  from: string;
  to: string;
  durationMs: number;
}

export interface Coverage {
  scheduleIntervalMs: number;
  scans: ScanSummary[];
  completedScans: number;
  incompleteScans: number;
  scansWithGaps: number;
  /** The longest stretch of the period without a completed scan, counting from `from` to the first and from the last to `to`. */
  longestWithoutCompletedScan: Interval;
  /** The fraction (0..1, 4 decimals) of the period in which a scan had completed less than two schedule intervals earlier. */
  coveredShare: number;
}

export interface OpenFinding {
  endpoint: string;
  ip: string;
  port: number;
  /** "exposure:unauthenticated", "exposure:reachable", or the finding id (e.g. "CVE-2025-49844"). */
  findingId: string;
  kind: "exposure" | "cve" | "compromise";
  severity: Severity;
  title: string;
  evidence: string;
  firstSeen: string;
  owner: Asset | null;
  remediation: string;
}

export interface TimelinePoint {
  at: string;
  exposed: number;
}

export interface RemediationStats {
  closedWindows: number;
  medianMs: number | null;
  p90Ms: number | null;
}

export interface ReportSummary {
  endpointsExposed: number;
  windows: number;
  openWindows: number;
  unauthenticatedWindows: number;
  /** Distinct owning resources (account + resource id) of the windows. */
  owners: number;
  accounts: number;
  windowsWithoutOwner: number;
  maxExposedAtOnce: number;
  scans: number;
  coveredShare: number;
  longestWithoutCompletedScanMs: number;
  timeToRemediate: RemediationStats;
  openFindings: Record<Severity, number>;
}

export interface AuditReport {
  schema: "exposure-report/1";
  period: Period;
  generatedAt: string;
  table: string;
  summary: ReportSummary;
  coverage: Coverage;
  windows: ExposureWindow[];
  openFindings: OpenFinding[];
  timeline: TimelinePoint[];
  /** Every acknowledgement in force at some time of the period, oldest first: for the auditor. */
  acknowledgements: Acknowledgement[];
  /** Config findings at the time the report was generated: recorded, never paged. */
  latentExposures: LatentExposure[];
}
