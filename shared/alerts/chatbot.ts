// An alert as an AWS Chatbot (Amazon Q Developer in chat applications) custom notification, the form
// Chatbot renders in Slack, Teams or Chime when it arrives on an SNS topic the channel subscribes to
// (docs/readme-outputs.md, "Slack, Teams or Chime through AWS Chatbot"). Every alert of one endpoint carries the same
// threadId, so an alert and its resolution group in one thread.
import type { Alert } from "./alert.ts";
import { describeServer, formatTime, headline, oneLine, ownerLabel, stateChange, truncate } from "./render.ts";

export interface ChatbotNotification {
  version: "1.0";
  source: "custom";
  id: string;
  content: {
    textType: "client-markdown";
    title: string;
    description: string;
    nextSteps: string[];
    keywords: string[];
  };
  metadata: {
    threadId: string;
    summary: string;
    eventType: string;
    relatedResources: string[];
    additionalContext: Record<string, string>;
  };
}

/** Bounds of our own, well inside what chat platforms show without folding. */
export const CHATBOT_LIMITS = { title: 250, description: 3_000, nextSteps: 5, nextStep: 300 } as const;

const ICONS: Record<Alert["severity"], string> = {
  critical: ":rotating_light:",
  high: ":warning:",
  medium: ":warning:",
  low: ":information_source:",
  info: ":white_check_mark:",
};

/**
 * Peer-supplied text must not become a mention, a link or a code span: angle brackets are dropped and
 * backticks become quotes (formatting marks such as * and _ can only change emphasis).
 */
function plain(text: string): string {
  return oneLine(text).replace(/[<>]/g, "").replace(/`/g, "'");
}

/** The thread an endpoint's notifications share. */
export function chatbotThreadId(endpoint: string): string {
  return `exposure-monitor/${endpoint}`;
}

export function chatbotNotification(alert: Alert): ChatbotNotification {
  const server = describeServer(alert.current.protocol);
  const lines = [
    `*${alert.severity.toUpperCase()}* \`${alert.endpoint}\` is ${plain(stateChange(alert))}.`,
    `*What:* ${alert.current.state}, exposure ${alert.current.exposure}, TLS ${alert.current.tls ? "yes" : "no"}${server ? `, ${plain(server)}` : ""}`,
    `*Owner:* ${plain(ownerLabel(alert.asset))}`,
    `*Since:* ${formatTime(alert.observedAt)} (first seen ${formatTime(alert.firstSeenAt)})`,
  ];
  if (alert.findings.length > 0) {
    const names = alert.findings.map((finding) => `${plain(finding.id)} (${finding.severity})`).join(", ");
    lines.push(`*Findings:* ${truncate(names, 600)}`);
  }
  const context: Record<string, string> = {
    alertId: alert.id,
    kind: alert.kind,
    severity: alert.severity,
    endpoint: alert.endpoint,
    state: alert.current.state,
    exposure: alert.current.exposure,
  };
  if (alert.asset) {
    context.account = alert.asset.account;
    context.region = alert.asset.region;
    context.resourceId = plain(alert.asset.resourceId);
  }
  return {
    version: "1.0",
    source: "custom",
    id: alert.id,
    content: {
      textType: "client-markdown",
      title: truncate(`${ICONS[alert.severity]} ${headline(alert)}: ${alert.endpoint}`, CHATBOT_LIMITS.title),
      description: truncate(lines.join("\n"), CHATBOT_LIMITS.description),
      nextSteps: alert.remediation
        .slice(0, CHATBOT_LIMITS.nextSteps)
        .map((step) => truncate(plain(step), CHATBOT_LIMITS.nextStep)),
      keywords: [alert.kind, alert.severity, ...(alert.asset ? [alert.asset.account] : [])],
    },
    metadata: {
      threadId: chatbotThreadId(alert.endpoint),
      summary: truncate(`${alert.severity.toUpperCase()} ${alert.kind} ${alert.endpoint}`, CHATBOT_LIMITS.title),
      eventType: alert.kind,
      relatedResources: [alert.endpoint, ...(alert.asset ? [plain(alert.asset.resourceId)] : [])],
      additionalContext: context,
    },
  };
}
