// The words of every protocol the probe speaks, by name (docs/architecture.md, "Protocol modules"): one
// line per protocol, beside the probe's own registration (shared/probe/protocols.ts).
import { DEFAULT_PROTOCOL, type ProtocolFacts } from "../exposure/model.ts";
import { oneLine, truncate } from "../printable.ts";
import { redisText } from "../probe/redis/text.ts";
import type { ProtocolText } from "./text.ts";

export const PROTOCOL_TEXTS: ReadonlyMap<string, ProtocolText> = new Map([[redisText.name, redisText]]);

/** Plain words for a protocol this version has no text for (a record written by a newer one). */
function plainText(name: string): ProtocolText {
  const label = oneLine(name).slice(0, 40) || "unknown";
  return {
    name,
    label,
    headlines: {},
    exposureTitle: (exposure) =>
      exposure === "unauthenticated"
        ? `${label} answers without authentication from the internet`
        : `${label} port reachable from the internet`,
    describeServer: (facts: ProtocolFacts) =>
      facts.product === undefined
        ? null
        : truncate(oneLine([facts.product, facts.version].filter(Boolean).join(" ")), 120),
    firstSteps: () => [],
    serverSteps: () => [],
    resolvedSteps: () => [],
  };
}

/** The words for an endpoint's protocol (a record without one is the default protocol's). */
export function protocolText(name: string | undefined): ProtocolText {
  const key = name ?? DEFAULT_PROTOCOL;
  return PROTOCOL_TEXTS.get(key) ?? plainText(key);
}

/** The registered protocols as one label, for titles that span every endpoint (the report's). */
export function protocolsLabel(): string {
  return [...PROTOCOL_TEXTS.values()].map((text) => text.label).join("/");
}
