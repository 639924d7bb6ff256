// Builds the auditor's report from history: a pure function of its input, so the same history and
// period always give the same report (and, rendered, the same bytes and the same SHA-256).
import { acknowledgementsOverlapping } from "../exposure/acknowledgement.ts";
import type { Severity } from "../exposure/model.ts";
import type { EndpointState } from "../exposure/transitions.ts";
import { closingSteps, pathLine } from "../inventory/path/text.ts";
import { protocolText } from "../protocols/registry.ts";
import { computeCoverage } from "./coverage.ts";
import { exposureRemediation, findingRemediation } from "./remediation.ts";
import { median, percentile } from "./stats.ts";
import { toIso, toMs } from "./time.ts";
import type { AuditReport, LatentExposure, OpenFinding, ReportInput } from "./types.ts";
import { compareText, type EndpointAtEnd, exposedTimeline, exposureWindows } from "./windows.ts";

export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low", "info"];

export function buildReport(input: ReportInput): AuditReport {
  const fromMs = toMs(input.period.from, "--from");
  const toMs_ = toMs(input.period.to, "--to");
  if (toMs_ <= fromMs) throw new RangeError("the period must end after it starts");

  const { windows, endpoints } = exposureWindows(input.events, fromMs, toMs_);
  const coverage = computeCoverage(input.scans, fromMs, toMs_, input.scheduleIntervalMs);
  const timeline = exposedTimeline(windows, fromMs, toMs_);
  const openFindings = endpoints
    .flatMap(openFindingsOf)
    .sort(
      (a, b) =>
        SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
        toMs(a.firstSeen) - toMs(b.firstSeen) ||
        compareText(a.endpoint, b.endpoint) ||
        compareText(a.findingId, b.findingId),
    );
  const remediationTimes = windows.flatMap((window) =>
    window.timeToRemediateMs === null ? [] : [window.timeToRemediateMs],
  );
  // Owners are the resources (account + resource id) recorded for the windows; windows without one count apart.
  const owners = new Set(
    windows.flatMap((window) => (window.owner ? [`${window.owner.accountId}/${window.owner.resourceId}`] : [])),
  );
  const accounts = new Set(windows.flatMap((window) => (window.owner ? [window.owner.accountId] : [])));
  const openBySeverity = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as Record<Severity, number>;
  for (const finding of openFindings) openBySeverity[finding.severity]++;

  return {
    schema: "exposure-report/1",
    period: { from: toIso(fromMs), to: toIso(toMs_) },
    generatedAt: toIso(toMs(input.generatedAt, "generatedAt")),
    table: input.table,
    summary: {
      endpointsExposed: new Set(windows.map((window) => window.endpoint)).size,
      windows: windows.length,
      openWindows: windows.filter((window) => window.end === null).length,
      unauthenticatedWindows: windows.filter((window) => window.level === "unauthenticated").length,
      owners: owners.size,
      accounts: accounts.size,
      windowsWithoutOwner: windows.filter((window) => window.owner === null).length,
      maxExposedAtOnce: Math.max(...timeline.map((point) => point.exposed)),
      scans: coverage.scans.length,
      coveredShare: coverage.coveredShare,
      longestWithoutCompletedScanMs: coverage.longestWithoutCompletedScan.durationMs,
      timeToRemediate: {
        closedWindows: remediationTimes.length,
        medianMs: median(remediationTimes),
        p90Ms: percentile(remediationTimes, 90),
      },
      openFindings: openBySeverity,
    },
    coverage,
    windows,
    openFindings,
    timeline,
    // Oldest first, whatever order they were read in (the output is the same for the same history).
    acknowledgements: acknowledgementsOverlapping(input.acknowledgements ?? [], toIso(fromMs), toIso(toMs_)).sort(
      (a, b) => compareText(a.createdAt, b.createdAt) || compareText(a.id, b.id),
    ),
    latentExposures: (input.latent ?? []).map(latentExposure).sort((a, b) => compareText(a.endpoint, b.endpoint)),
  };
}

function latentExposure(state: EndpointState): LatentExposure {
  const path = state.asset?.path;
  const steps = path && state.asset ? closingSteps(path, state.port, state.asset.region) : [];
  return {
    endpoint: state.endpoint,
    state: state.state,
    observedAt: state.lastObservedAt,
    owner: state.asset,
    path: path ? pathLine(path) : "",
    remediation: steps.map((step) => (step.command ? `${step.change}: ${step.command}` : step.change)).join("; "),
  };
}

/** At the end of the period: the exposure itself, and every CVE or compromise finding of an exposed endpoint. */
export function openFindingsOf(endpoint: EndpointAtEnd): OpenFinding[] {
  if (endpoint.exposure === "none" || endpoint.window === null) return [];
  const base = { endpoint: endpoint.endpoint, ip: endpoint.ip, port: endpoint.port, owner: endpoint.asset };
  const subject = {
    port: endpoint.port,
    current: endpoint.current,
    findings: endpoint.findings,
    asset: endpoint.asset,
  };
  const unauthenticated = endpoint.exposure === "unauthenticated";
  const exposure: OpenFinding = {
    ...base,
    findingId: `exposure:${endpoint.exposure}`,
    kind: "exposure",
    severity: unauthenticated ? "critical" : "high",
    title: protocolText(endpoint.current.protocol.name).exposureTitle(endpoint.exposure),
    evidence: `state ${endpoint.current.state}`,
    // The exposure finding is per level: unauthenticated since it became unauthenticated.
    firstSeen: endpoint.levelSince ?? endpoint.window.start,
    remediation: exposureRemediation(subject),
  };
  const findings = endpoint.findings.map(
    (finding): OpenFinding => ({
      ...base,
      findingId: finding.id,
      kind: finding.kind,
      severity: finding.severity,
      title: finding.title,
      evidence: finding.evidence,
      firstSeen: endpoint.findingFirstSeen.get(finding.id) ?? endpoint.window!.start,
      remediation: findingRemediation(subject, finding),
    }),
  );
  return [exposure, ...findings];
}
