// Slack Block Kit rendering, the body of an incoming-webhook POST: `{text, blocks}`.
// `text` is the notification fallback. Limits from Slack's Block Kit reference: header text
// 150 characters, section text 3000, at most 10 fields of 2000 each, context elements 10.
// Values are escaped for mrkdwn so a hostile server's INFO text cannot ping a channel or forge links.
import type { Severity } from "../exposure/model.ts";
import type { Alert } from "./alert.ts";
import {
  describeServer,
  emailSubject,
  formatTime,
  headline,
  oneLine,
  ownerLabel,
  stateChange,
  truncate,
} from "./render.ts";

export const SLACK_LIMITS = { header: 150, sectionText: 3000, fields: 10, fieldText: 2000, contextElements: 10 };

interface TextObject {
  type: "plain_text" | "mrkdwn";
  text: string;
  emoji?: boolean;
}
export type SlackBlock =
  | { type: "header"; text: TextObject }
  | { type: "section"; text?: TextObject; fields?: TextObject[] }
  | { type: "context"; elements: TextObject[] }
  | { type: "divider" };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

const SEVERITY_MARK: Record<Severity, string> = {
  critical: "🔴",
  high: "🟠",
  medium: "🟡",
  low: "🔵",
  info: "🟢",
};

/** Escapes the three characters Slack's mrkdwn gives meaning to (`<!channel>`, `<url|text>`). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Inline code that cannot be broken out of: backticks inside become quotes. */
function code(text: string): string {
  return `\`${escapeMrkdwn(oneLine(text).replace(/`/g, "'"))}\``;
}

function mrkdwn(text: string, max: number): TextObject {
  return { type: "mrkdwn", text: truncate(text, max) };
}

function field(label: string, value: string): TextObject {
  return mrkdwn(`*${label}*\n${value}`, SLACK_LIMITS.fieldText);
}

export function slackMessage(alert: Alert): SlackMessage {
  const server = describeServer(alert.current.protocol);
  const header = `${SEVERITY_MARK[alert.severity]} ${alert.severity.toUpperCase()}: ${headline(alert)}`;
  const fields = [
    field("Endpoint", code(alert.endpoint)),
    field(
      "State",
      `${code(alert.current.state)} (exposure ${alert.current.exposure}, TLS ${alert.current.tls ? "yes" : "no"})`,
    ),
    field(
      "Previously",
      alert.previous ? `${code(alert.previous.state)} (${alert.previous.exposure})` : "first sighting",
    ),
    field("Owner", escapeMrkdwn(ownerLabel(alert.asset))),
    field("Since", `${formatTime(alert.observedAt)}\nfirst seen ${formatTime(alert.firstSeenAt)}`),
  ];
  if (alert.asset) fields.push(field("Resource type", escapeMrkdwn(oneLine(alert.asset.resourceType))));
  if (server) fields.push(field("Server", escapeMrkdwn(server)));

  const blocks: SlackBlock[] = [
    { type: "header", text: { type: "plain_text", text: truncate(header, SLACK_LIMITS.header), emoji: true } },
    {
      type: "section",
      text: mrkdwn(`${code(alert.endpoint)} is ${escapeMrkdwn(stateChange(alert))}.`, SLACK_LIMITS.sectionText),
    },
    { type: "section", fields: fields.slice(0, SLACK_LIMITS.fields) },
  ];
  if (alert.findings.length > 0) {
    const lines = alert.findings.map(
      (finding) =>
        `• *${escapeMrkdwn(oneLine(finding.id))}* (${finding.severity}): ${escapeMrkdwn(truncate(oneLine(finding.title), 200))}\n   evidence: ${code(truncate(finding.evidence, 200))}`,
    );
    blocks.push({ type: "section", text: mrkdwn(`*Findings*\n${lines.join("\n")}`, SLACK_LIMITS.sectionText) });
  }
  if (alert.remediation.length > 0) {
    const steps = alert.remediation.map((line, index) => `${index + 1}. ${escapeMrkdwn(line)}`);
    blocks.push({ type: "section", text: mrkdwn(`*What to do*\n${steps.join("\n")}`, SLACK_LIMITS.sectionText) });
  }
  blocks.push({
    type: "context",
    elements: [mrkdwn(`alert ${alert.id} · ${alert.kind} · severity ${alert.severity}`, SLACK_LIMITS.fieldText)],
  });
  return { text: escapeMrkdwn(emailSubject(alert, 300)), blocks };
}
