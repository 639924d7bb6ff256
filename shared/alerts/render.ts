// Plain-text renderings of an alert: an email subject and body a person reads in ten seconds
// (what, where, owner, since, what to do), the console form, and the JSON itself.
// Server facts and finding evidence come from hostile peers: every rendering strips control
// characters and bounds lengths.
import type { AlertKind, ProtocolFacts } from "../exposure/model.ts";
import { pathLine } from "../inventory/path/text.ts";
import { oneLine, truncate } from "../printable.ts";
import { protocolText } from "../protocols/registry.ts";
import type { OwnerRef as AlertAsset } from "../remediation/remediation.ts";
import type { Alert } from "./alert.ts";

/** The neutral headline of each alert kind; a protocol may word its own (shared/protocols/text.ts). */
const KIND_HEADLINES: Record<AlertKind, string> = {
  "newly-unauthenticated": "Open without authentication",
  "newly-internet-facing": "Port newly reachable from the internet",
  "new-finding": "New security finding",
  resolved: "No longer reachable from the internet",
  "path-anomaly": "Answers although the configuration says no path exists",
};

/** The alert as one JSON document (what SNS, the JSONL file and machine subscribers get). */
export function alertJson(alert: Alert): string {
  return JSON.stringify(alert);
}

export { oneLine, truncate };

/** "123456789012/eu-west-1 i-0abc (web-1)", or "owner unknown". */
export function ownerLabel(asset: AlertAsset | null): string {
  if (!asset) return "owner unknown";
  const name = asset.name ? ` (${oneLine(asset.name)})` : "";
  return `${asset.account}/${asset.region} ${asset.resourceId}${name}`;
}

/** The protocol's headline for the alert's kind, else the neutral one. */
export function headline(alert: Pick<Alert, "kind" | "current">): string {
  return protocolText(alert.current.protocol.name).headlines[alert.kind] ?? KIND_HEADLINES[alert.kind];
}

/** The server in a few words, in its protocol's terms (product, version, role), or null. */
export function describeServer(protocol: ProtocolFacts): string | null {
  return protocolText(protocol.name).describeServer(protocol);
}

/** "open-unauthenticated (was auth-required)", "open-unauthenticated (first sighting)". */
export function stateChange(alert: Alert): string {
  const was = alert.previous ? `was ${alert.previous.state}` : "first sighting";
  return `${alert.current.state} (${was})`;
}

/** "2026-11-22 03:00:05 UTC" from an ISO timestamp; anything else is shown as is. */
export function formatTime(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : oneLine(iso);
}

/**
 * "[CRITICAL] newly-unauthenticated 203.0.113.10:6379 - 123456789012 i-0abc (web-1)".
 * Fits SNS's Subject rules: ASCII, no line breaks, fewer than 100 characters; the owner is cut first.
 */
export function emailSubject(alert: Alert, max = 99): string {
  const ascii = (text: string) => oneLine(text).replace(/[^\x20-\x7e]/g, "?");
  const head = ascii(`[${alert.severity.toUpperCase()}] ${alert.kind} ${alert.endpoint}`);
  const asset = alert.asset;
  // The region is left to the body: the subject has room for account, resource and name.
  const owner = asset ? `${asset.account} ${asset.resourceId}${asset.name ? ` (${asset.name})` : ""}` : "owner unknown";
  const subject = `${head} - ${ascii(owner)}`;
  return subject.length <= max ? subject : truncate(subject, max);
}

/** The plain-text body: the facts first, then numbered steps. */
export function emailBody(alert: Alert): string {
  const server = describeServer(alert.current.protocol);
  const lines = [
    `${headline(alert)}: ${alert.endpoint} is ${stateChange(alert)}.`,
    "",
    `What:   ${alert.current.state}, exposure ${alert.current.exposure}, TLS ${alert.current.tls ? "yes" : "no"}${server ? `, ${server}` : ""}`,
    `Where:  ${alert.endpoint}`,
    `Owner:  ${alert.asset ? `AWS account ${alert.asset.account}, ${alert.asset.region}, ${oneLine(alert.asset.resourceType)} ${oneLine(alert.asset.resourceId)}${alert.asset.name ? ` "${oneLine(alert.asset.name)}"` : ""}` : "unknown (not found in the AWS inventory)"}`,
    `Since:  ${formatTime(alert.observedAt)} (first seen ${formatTime(alert.firstSeenAt)})`,
  ];
  const owners = Object.entries(alert.asset?.owners ?? {});
  if (owners.length > 0)
    lines.push(`Team:   ${truncate(oneLine(owners.map(([k, v]) => `${k}=${v}`).join(", ")), 200)}`);
  if (alert.asset?.path) lines.push(`Path:   ${truncate(oneLine(pathLine(alert.asset.path)), 400)}`);
  if (alert.findings.length > 0) {
    lines.push("", "Findings:");
    for (const finding of alert.findings) {
      lines.push(
        `  - ${oneLine(finding.id)} (${finding.severity}): ${truncate(oneLine(finding.title), 200)}`,
        `    evidence: ${truncate(oneLine(finding.evidence), 200)}`,
      );
    }
  }
  if (alert.remediation.length > 0) {
    lines.push("", "What to do:");
    alert.remediation.forEach((line, index) => {
      lines.push(`  ${index + 1}. ${line}`);
    });
  }
  lines.push("", `Alert ${alert.id}, ${alert.kind}, severity ${alert.severity}.`);
  return `${lines.join("\n")}\n`;
}

/** One to three lines for a terminal: what and where, the first step, the findings. */
export function consoleLines(alert: Alert): string[] {
  const lines = [
    `${formatTime(alert.observedAt)} ${alert.severity.toUpperCase()} ${alert.kind} ${alert.endpoint} ${stateChange(alert)} ${alert.asset ? `owner ${ownerLabel(alert.asset)}` : ownerLabel(null)}`,
  ];
  const first = alert.remediation[0];
  if (first) lines.push(`  do: ${first}`);
  if (alert.findings.length > 0) {
    const names = alert.findings.map((finding) => `${oneLine(finding.id)} (${finding.severity})`).join(", ");
    lines.push(`  findings: ${truncate(names, 300)}`);
  }
  return lines;
}
