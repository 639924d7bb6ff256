// A scan cycle split across processes (in AWS: the enumerate and probe functions, with SQS between them).
//   startScanCycle: inventory -> scan record -> shards on a queue
//   probeShard:     one shard -> probes -> recorded observations -> shard counted in the scan record
// Every step may run twice (a retried schedule, a redelivered message) without counting or alerting twice:
// the scan id comes from the schedule, shard ids are fixed by position, and the store counts a shard once.
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import type {
  Asset,
  CoverageGap,
  ProbeResult,
  ScanCounts,
  ScanRecord,
  StateChangeEvent,
  Target,
} from "../exposure/model.ts";
import { formatEndpoint, isProbeError, type ProbeOutcome } from "../exposure/model.ts";
import type { InventoryResult } from "../inventory/enumerate.ts";
import { isPublicAddress } from "../net/ip.ts";
import type { AdaptiveOptions, ProbeFunction } from "../probe/adaptive.ts";
import type { ProbeContext } from "../probe/probe.ts";
import { probeAdaptive } from "../probe/scheduler.ts";
import { bucketOf } from "../store/digest.ts";
import type { ExposureStore } from "../store/store.ts";
import { newScanId } from "./cycle.ts";

/** SQS's limit for one message body, and for the sum of the bodies in one SendMessageBatch call. */
export const SQS_MAX_MESSAGE_BYTES = 262_144;

/** One SQS message: the targets one probe invocation handles. */
export interface ShardMessage {
  scanId: string;
  /** "<n>/<count>", fixed by position, so a shard sent twice is the same shard. */
  shardId: string;
  targets: Target[];
}

export class ShardMessageError extends Error {
  override name = "ShardMessageError";
}

/**
 * The message body: JSON, with U+FFFE and U+FFFF escaped because SQS accepts only characters valid in
 * XML (JSON.stringify already escapes control characters and lone surrogates). Tag values are free text.
 */
export function encodeShardMessage(message: ShardMessage): string {
  return escapeForSqs(JSON.stringify(message));
}

function escapeForSqs(json: string): string {
  return json.replace(/[\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

const byteLength = (text: string) => Buffer.byteLength(text, "utf8");

export interface ShardLimits {
  /** Targets per shard at most (infra/sizing.ts SHARD_SIZE: one probe wave per invocation). */
  maxTargets: number;
  /** Encoded message bytes at most. */
  maxBytes?: number;
}

/**
 * Splits targets, in order, into shards of at most `maxTargets` targets and `maxBytes` encoded bytes. A
 * target too large for a message of its own (dozens of long tags) travels without its tags: they are only
 * kept as owner metadata, and the scope filter on them has already been applied by the inventory.
 */
export function splitIntoShards(scanId: string, targets: readonly Target[], limits: ShardLimits): ShardMessage[] {
  const maxBytes = limits.maxBytes ?? SQS_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(limits.maxTargets) || limits.maxTargets < 1) {
    throw new RangeError("maxTargets must be a positive whole number");
  }
  // The envelope with the longest shard id a scan can have ("999999/999999"), so ids assigned later fit.
  const envelopeBytes = byteLength(encodeShardMessage({ scanId, shardId: "999999/999999", targets: [] }));
  const groups: Target[][] = [];
  let current: Target[] = [];
  let currentBytes = envelopeBytes;
  for (const original of targets) {
    let target = original;
    let bytes = byteLength(escapeForSqs(JSON.stringify(target)));
    if (envelopeBytes + bytes > maxBytes && target.asset?.tags !== undefined) {
      target = { ...target, asset: withoutTags(target.asset) };
      bytes = byteLength(escapeForSqs(JSON.stringify(target)));
    }
    if (envelopeBytes + bytes > maxBytes) {
      throw new ShardMessageError(`target ${formatEndpoint(target.host, target.port)} does not fit in one message`);
    }
    const separator = current.length > 0 ? 1 : 0;
    // A shard holds one address family: IPv6 shards go to the probe function that has an IPv6 path.
    const otherFamily = current.length > 0 && isIP(current[0]?.host ?? "") !== isIP(target.host);
    if (current.length >= limits.maxTargets || currentBytes + separator + bytes > maxBytes || otherFamily) {
      groups.push(current);
      current = [];
      currentBytes = envelopeBytes;
    }
    currentBytes += (current.length > 0 ? 1 : 0) + bytes;
    current.push(target);
  }
  if (current.length > 0) groups.push(current);
  if (groups.length > 999_999) throw new RangeError("too many shards for one scan");
  return groups.map((group, index) => ({ scanId, shardId: `${index + 1}/${groups.length}`, targets: group }));
}

function withoutTags(asset: Asset): Asset {
  const { tags: _dropped, ...rest } = asset;
  return rest;
}

/**
 * Parses and checks a message body. A malformed shard is an error (it goes to the dead-letter queue, never
 * silently dropped); so is a target that is not a public IP address, which only a tampered message can hold:
 * the probe must not be pointed at its own runtime's link-local or loopback services.
 */
export function parseShardMessage(body: string): ShardMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ShardMessageError("shard message is not JSON");
  }
  const message = value as Partial<ShardMessage> | null;
  if (typeof message?.scanId !== "string" || message.scanId === "") {
    throw new ShardMessageError("shard message has no scanId");
  }
  if (typeof message.shardId !== "string" || !isShardId(message.shardId)) {
    throw new ShardMessageError("shard message has no shardId of the form n/count with 1 <= n <= count");
  }
  return { scanId: message.scanId, shardId: message.shardId, targets: checkedTargets(message.targets) };
}

/** The targets of a message (a shard, or a fast-path probe): each a public IP address and a port, or an error. */
export function checkedTargets(targets: unknown): Target[] {
  if (!Array.isArray(targets)) throw new ShardMessageError("shard message has no targets list");
  for (const item of targets as unknown[]) {
    const target = item as Partial<Target> | null;
    const port = target?.port;
    if (
      typeof target?.host !== "string" ||
      !Number.isInteger(port) ||
      (port as number) < 1 ||
      (port as number) > 65_535
    ) {
      throw new ShardMessageError(`shard message has a malformed target: ${JSON.stringify(item).slice(0, 200)}`);
    }
    if (isIP(target.host) === 0 || !isPublicAddress(target.host)) {
      throw new ShardMessageError(`shard message names ${target.host.slice(0, 100)}, which is not a public IP address`);
    }
  }
  return targets as Target[];
}

/** "n/count" with 1 <= n <= count (the ids splitIntoShards assigns): anything else could count a shard twice. */
export function isShardId(shardId: string): boolean {
  const match = /^([1-9]\d{0,5})\/([1-9]\d{0,5})$/.exec(shardId);
  return match !== null && Number(match[1]) <= Number(match[2]);
}

/** A scan id per scheduled run, so the scheduler's retries of one run find the scan the first attempt started. */
export function scanIdForSchedule(scheduledTime: string): string {
  const time = new Date(scheduledTime);
  if (Number.isNaN(time.getTime())) throw new RangeError(`scheduled time "${scheduledTime}" is not a time`);
  const iso = time.toISOString();
  const suffix = createHash("sha256").update(`schedule ${iso}`).digest("hex").slice(0, 6);
  return `${newScanId(time).slice(0, -6)}${suffix}`;
}

/** Where shards go: SQS in AWS (sqs-shard-queue.ts). Resolves once every message is accepted. */
export interface ShardQueue {
  send(messages: readonly ShardMessage[]): Promise<void>;
}

/** True for a shard of IPv6 targets (splitIntoShards never mixes families in one shard). */
export function isIpv6Shard(shard: ShardMessage): boolean {
  return isIP(shard.targets[0]?.host ?? "") === 6;
}

/**
 * Sends IPv4 shards to one queue and IPv6 shards to another (the probe function in the dual-stack scanner
 * VPC); without an IPv6 queue every shard goes to the first.
 */
export class FamilyShardQueue implements ShardQueue {
  readonly #ipv4: ShardQueue;
  readonly #ipv6: ShardQueue | undefined;

  constructor(ipv4: ShardQueue, ipv6?: ShardQueue) {
    this.#ipv4 = ipv4;
    this.#ipv6 = ipv6;
  }

  async send(messages: readonly ShardMessage[]): Promise<void> {
    const ipv6 = this.#ipv6;
    if (ipv6 === undefined) return this.#ipv4.send(messages);
    await Promise.all([
      this.#ipv4.send(messages.filter((message) => !isIpv6Shard(message))),
      ipv6.send(messages.filter(isIpv6Shard)),
    ]);
  }
}

export interface ScanCycleStart {
  /** Usually scanIdForSchedule(the schedule's time). */
  scanId: string;
  /** Lists the targets with the coverage of the listing (shared/inventory enumeratePublicTargets). */
  readInventory: () => Promise<
    Pick<InventoryResult, "targets"> & { summary: Pick<ScanRecord, "accountsRead" | "regionsRead" | "gaps"> }
  >;
  store: ExposureStore;
  queue: ShardQueue;
  shardLimits: ShardLimits;
  /** The id of a replacement scan (below); default newScanId(). */
  newScanId?: () => string;
}

export interface ScanCycleStarted {
  scan: ScanRecord;
  /**
   * started: a new scan record, its shards queued. resumed: the scan existed (a retry) and was not complete,
   * so its shards were queued again. already-complete: nothing to do. restarted: the scan existed with a
   * different shard count (the inventory changed between attempts), so a new scan took its place.
   */
  status: "started" | "resumed" | "already-complete" | "restarted";
  /** Shards queued by this call. */
  shardsQueued: number;
  /** True when this call completed the scan (no targets at all): whoever completes it reports it. */
  completed: boolean;
  /** The scan id asked for, when `restarted` replaced it. */
  replacedScanId?: string;
  /** Every coverage gap of the inventory, one by one (the scan record keeps them summarised). */
  gaps: CoverageGap[];
}

export async function startScanCycle(options: ScanCycleStart): Promise<ScanCycleStarted> {
  const { store, queue } = options;
  const inventory = await options.readInventory();
  const coverage = {
    accountsRead: inventory.summary.accountsRead,
    regionsRead: inventory.summary.regionsRead,
    gaps: inventory.summary.gaps,
  };
  // Targets in digest-bucket order, so a shard reads few digests and a digest is read by few shards.
  const bucketed = inventory.targets.map((target) => ({
    target,
    bucket: bucketOf(formatEndpoint(target.host, target.port)),
  }));
  const ordered = bucketed.sort((a, b) => a.bucket - b.bucket).map(({ target }) => target);
  const begin = async (scanId: string) => {
    const shards = splitIntoShards(scanId, ordered, options.shardLimits);
    const started = await store.startScan({
      scanId,
      targets: inventory.targets.length,
      shards: shards.length,
      ...coverage,
    });
    return { shards, ...started };
  };

  let attempt = await begin(options.scanId);
  let status: ScanCycleStarted["status"] = "started";
  if (!attempt.created) {
    if (attempt.scan.completedAt !== null) {
      return { scan: attempt.scan, status: "already-complete", shardsQueued: 0, completed: false, gaps: coverage.gaps };
    }
    if (attempt.scan.shards === attempt.shards.length) {
      status = "resumed";
    } else {
      attempt = await begin((options.newScanId ?? newScanId)());
      status = "restarted";
    }
  }
  // Sent even on a resume: which shards the first attempt managed to send is unknown, and a shard that
  // arrives twice is counted once.
  await queue.send(attempt.shards);
  return {
    scan: attempt.scan,
    status,
    shardsQueued: attempt.shards.length,
    completed: attempt.created && attempt.scan.completedAt !== null,
    ...(status === "restarted" ? { replacedScanId: options.scanId } : {}),
    gaps: coverage.gaps,
  };
}

export interface ProbeShardOptions {
  store: ExposureStore;
  /** Adaptive scheduler settings (concurrency = sockets at once); see shared/probe/adaptive.ts. */
  probe?: Partial<AdaptiveOptions>;
  context?: ProbeContext;
  /** The single-target probe (default probeTarget); the scheduler wraps it. */
  probeTarget?: ProbeFunction;
  checkpointIntervalMs?: number;
  /**
   * Share of the targets that may end in probe errors before the call fails instead of recording
   * (default PROBE_ERROR_SHARE_LIMIT): so many failures of the prober's own side (no descriptors, no route)
   * make the rest of its results suspect too.
   */
  maxProbeErrorShare?: number;
  /** Called with each target's outcome as it comes (the laptop's progress line and `scan --json`). */
  onResult?: (outcome: ProbeOutcome) => void;
}

/**
 * A shard fails when more than this share of its targets ends in probe errors other than a missing route
 * (docs/readme-probe.md, "Probe errors").
 */
export const PROBE_ERROR_SHARE_LIMIT = 0.1;

/** Probe errors of a missing route or address family: counted, never a reason to fail the shard. */
const NO_ROUTE_CODES = new Set(["ENETUNREACH", "EHOSTUNREACH", "EAFNOSUPPORT", "EADDRNOTAVAIL"]);

/** Thrown instead of recording a shard whose probe errors passed the limit: SQS retries it, then dead-letters it. */
export class ProbeErrorLimitError extends Error {
  override name = "ProbeErrorLimitError";
}

export interface ProbeShardOutcome {
  /** "scan-complete": a late redelivery of a shard of a finished scan; nothing was probed. */
  skipped: "scan-complete" | null;
  probes: number;
  /** Per state, and "probe-error" for targets the prober could not look at (never recorded as a state). */
  countsByState: ScanCounts;
  /** Probe errors by code ("ENETUNREACH": 3); also counted in countsByState["probe-error"]. */
  probeErrors: Record<string, number>;
  /** State-change events this call recorded (the stream carries them to notify). */
  events: StateChangeEvent[];
  /** False when the shard had been counted before (a redelivery). */
  counted: boolean;
  /** True for exactly one call per scan: the one that counted its last shard. */
  completed: boolean;
  scan: ScanRecord;
}

export class UnknownScanError extends Error {
  override name = "UnknownScanError";
}

export async function probeShard(shard: ShardMessage, options: ProbeShardOptions): Promise<ProbeShardOutcome> {
  const { store } = options;
  const scan = await store.getScan(shard.scanId);
  if (scan === null) throw new UnknownScanError(`shard ${shard.shardId} names unknown scan ${shard.scanId}`);
  if (scan.completedAt !== null) {
    return {
      skipped: "scan-complete",
      probes: 0,
      countsByState: {},
      probeErrors: {},
      events: [],
      counted: false,
      completed: false,
      scan,
    };
  }
  const outcome = await probeAndRecord(shard.targets, { ...options, probeId: shard.scanId });
  const recorded = await store.recordShard({
    scanId: shard.scanId,
    shardId: shard.shardId,
    countsByState: outcome.countsByState,
  });
  const probes = Object.values(outcome.countsByState).reduce((sum, count) => sum + (count ?? 0), 0);
  return {
    skipped: null,
    probes,
    countsByState: outcome.countsByState,
    probeErrors: outcome.probeErrors,
    events: outcome.events,
    counted: recorded.counted,
    completed: recorded.completed,
    scan: recorded.scan,
  };
}

export interface ProbeAndRecordOptions extends ProbeShardOptions {
  /** Recorded with each observation: the scan id, or a fast-path probe id (docs/fastpath.md). */
  probeId: string;
}

export interface ProbeAndRecordOutcome {
  countsByState: ScanCounts;
  /** Probe errors by code: counted, never recorded. */
  probeErrors: Record<string, number>;
  events: StateChangeEvent[];
  /** The observations recorded (probe errors are not among them). */
  results: ProbeResult[];
}

/**
 * Probes targets with the adaptive scheduler and records every observation: the step a scan shard and a
 * fast-path probe (shared/fastpath/fast-probe.ts) share. Only a shard is then counted in a scan record.
 */
export async function probeAndRecord(
  targets: readonly Target[],
  options: ProbeAndRecordOptions,
): Promise<ProbeAndRecordOutcome> {
  const { store } = options;
  // One read of what is recorded for the targets (their digests, shared/store/digest.ts). Endpoints exposed at
  // their last observation are confirmed at the long timeout before they may be called filtered, so one
  // lost SYN does not start a "resolved" (adaptive.ts, previousExposure).
  const recorder = await store.beginShard(
    targets.map((target) => formatEndpoint(target.host, target.port)),
    {
      scanId: options.probeId,
      ...(options.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: options.checkpointIntervalMs } : {}),
    },
  );
  const results: ProbeResult[] = [];
  const outcome: ProbeAndRecordOutcome = { countsByState: {}, probeErrors: {}, events: [], results };
  // Names the addresses were resolved from travel with the observation, as a label of the IP-keyed record.
  const names = new Map(
    targets.flatMap((target) => (target.name ? [[formatEndpoint(target.host, target.port), target.name]] : [])),
  );
  for await (const result of probeAdaptive(
    targets,
    {
      ...options.probe,
      previousExposure: (target) => recorder.recordedExposure(formatEndpoint(target.host, target.port)),
    },
    options.context ?? {},
    options.probeTarget,
  )) {
    outcome.countsByState[result.state] = (outcome.countsByState[result.state] ?? 0) + 1;
    options.onResult?.(result);
    // A probe error says nothing about the endpoint: counted as a coverage gap, never recorded.
    if (isProbeError(result)) {
      outcome.probeErrors[result.probeError.code] = (outcome.probeErrors[result.probeError.code] ?? 0) + 1;
    } else {
      const name = names.get(formatEndpoint(result.ip, result.port));
      results.push(name === undefined ? result : { ...result, name });
    }
  }
  // Missing routes for an address family (a runtime without IPv6) are counted gaps: retrying cannot help,
  // and the rest of the shard is sound. Resource failures (descriptors, buffers) make everything suspect.
  const systemic = Object.entries(outcome.probeErrors)
    .filter(([code]) => !NO_ROUTE_CODES.has(code))
    .reduce((sum, [, n]) => sum + n, 0);
  const limit = options.maxProbeErrorShare ?? PROBE_ERROR_SHARE_LIMIT;
  if (systemic > 0 && systemic > limit * targets.length) {
    throw new ProbeErrorLimitError(
      `${options.probeId}: ${systemic} of ${targets.length} targets ended in probe errors of this machine (${JSON.stringify(outcome.probeErrors)}), over the limit of ${limit * 100}%: nothing recorded`,
    );
  }
  for (const recorded of await recorder.record(results)) if (recorded.event) outcome.events.push(recorded.event);
  return outcome;
}
