// When the fast path probes what an event exposed (docs/fastpath.md): a change often comes before the
// service (the group opens, the server starts a minute later), so each target is probed at +0, +30 s, +2 min and
// +10 min; after an instance or task start every 30 s for 3 minutes, then at +5 and +10 min. Each probe is
// one SQS message with its own delay (SQS allows 0-900 s per message) and its own probe id, so that two
// observations of one endpoint are always two probes (the two-observation rule for "resolved").
import { createHash } from "node:crypto";
import type { Target } from "../exposure/model.ts";
import { formatEndpoint } from "../exposure/model.ts";
import type { Change, ScheduleKind } from "./catalog.ts";
import type { Resolution } from "./resolve.ts";

export const REPROBE_DELAYS_SECONDS: Readonly<Record<ScheduleKind, readonly number[]>> = {
  change: [0, 30, 120, 600],
  start: [0, 30, 60, 90, 120, 150, 180, 300, 600],
};

/** SQS's per-message delay limit. */
export const MAX_DELAY_SECONDS = 900;

/** One delayed probe of some targets of one event. */
export interface FastProbeMessage {
  /** "fast-<event epoch ms>-<event hash>-<n>": unique per probe, and carries the event time for the latency metric. */
  probeId: string;
  eventId: string;
  eventName: string;
  /** When the change happened (the latency metric's start). */
  eventTime: string;
  /** When the router scheduled it: a tombstone written after this cancels it. */
  scheduledAt: string;
  targets: Target[];
  /** Per target host: its stop keys (resolve.ts). */
  stopKeys: Record<string, string[]>;
}

export interface PlannedProbe {
  delaySeconds: number;
  message: FastProbeMessage;
}

const PROBE_ID = /^fast-(\d{10,16})-([0-9a-f]{10})-(\d{1,2})$/;

export function fastProbeId(eventId: string, eventTime: string, attempt: number): string {
  const ms = Date.parse(eventTime);
  const hash = createHash("sha256").update(eventId).digest("hex").slice(0, 10);
  return `fast-${Number.isNaN(ms) ? 0 : ms}-${hash}-${attempt}`;
}

/** The event time a fast-path probe id carries (null for a scan id or anything else). */
export function eventTimeOfProbeId(probeId: string | undefined): number | null {
  const match = PROBE_ID.exec(probeId ?? "");
  if (!match) return null;
  const ms = Number(match[1]);
  return ms > 0 ? ms : null;
}

/** Targets per message: well inside SQS's 256 KiB with owner tags, and one probe wave of the fast-probe function. */
export const TARGETS_PER_MESSAGE = 100;

/** The messages for one resolved change: every target at every delay of its schedule. */
export function planProbes(
  change: Change,
  resolution: Pick<Resolution, "stopKeys">,
  targets: Target[],
  now: Date,
): PlannedProbe[] {
  const planned: PlannedProbe[] = [];
  for (let start = 0; start < targets.length; start += TARGETS_PER_MESSAGE) {
    const chunk = targets.slice(start, start + TARGETS_PER_MESSAGE);
    const hosts = new Set(chunk.map((target) => target.host));
    const stopKeys = Object.fromEntries(Object.entries(resolution.stopKeys).filter(([host]) => hosts.has(host)));
    REPROBE_DELAYS_SECONDS[change.schedule].forEach((delaySeconds, index) => {
      planned.push({
        delaySeconds: Math.min(delaySeconds, MAX_DELAY_SECONDS),
        message: {
          // One id per delay: each endpoint is in one chunk, so an observation's id is still unique.
          probeId: fastProbeId(change.eventId, change.eventTime, index + 1),
          eventId: change.eventId,
          eventName: change.name,
          eventTime: change.eventTime,
          scheduledAt: now.toISOString(),
          targets: chunk,
          stopKeys,
        },
      });
    });
  }
  return planned;
}

/** The key that coalesces one endpoint's schedules: within COALESCE_SECONDS a second event adds no probes. */
export const COALESCE_SECONDS = 60;
export const endpointKey = (target: Target) => `endpoint:${formatEndpoint(target.host, target.port)}`;
export const eventKey = (eventId: string) => `event:${eventId}`;
