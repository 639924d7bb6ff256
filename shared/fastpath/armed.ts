// The armed tier (docs/fastpath.md): endpoints whose path from the internet is known open are probed every
// minute by a schedule, so a server started or reconfigured without any AWS call (a restart, a password
// removed by its own configuration) still alerts within a minute. Known open: recorded exposure not `none` (the store's
// exposed-now index, one Query), or armed by a probe that saw the path (ledger.ts: a refusal proves it too).
// Latent exposures (docs/readme-path.md: the configuration opens the path, nothing answers) join at the
// hourly refresh run: read from the store as `exposed --latent` reads them, probed, and armed when they refuse.
import type { StateChangeEvent, Target } from "../exposure/model.ts";
import { formatEndpoint } from "../exposure/model.ts";
import { type IpFamily, ipFamily } from "../net/ip.ts";
import { loadLatentExposures } from "../report/latent.ts";
import { type ProbeShardOptions, probeAndRecord } from "../scan/shards.ts";
import { allItems } from "../store/store.ts";
import { updateArmed } from "./fast-probe.ts";
import type { FastPathLedger } from "./ledger.ts";

export interface ArmedOptions extends ProbeShardOptions {
  ledger: FastPathLedger;
  /** The schedule's time: the probe id is "armed-<minute>", one per run. */
  scheduledTime: Date;
  /** Endpoints probed per run at most (the schedule's cost bound); the most exposed first. */
  maxTargets?: number;
  /**
   * Only endpoints of this address family: in AWS the function outside a VPC probes IPv4 and its twin in
   * the dual-stack scanner VPC IPv6 (docs/fastpath.md, "IPv6 targets"). Unset: both (the laptop).
   */
  family?: IpFamily;
}

export interface ArmedOutcome {
  probeId: string;
  armed: number;
  probed: number;
  events: StateChangeEvent[];
}

export const DEFAULT_MAX_ARMED = 5_000;

export function armedProbeId(time: Date): string {
  return `armed-${Math.floor(time.getTime() / 60_000)}`;
}

/**
 * The armed set: exposed endpoints first (most severe first), then those armed by a refusal, then (when
 * `latentAt` is given: the hourly refresh run) the recorded latent exposures not armed yet.
 */
export async function armedTargets(
  options: Pick<ArmedOptions, "store" | "ledger" | "maxTargets" | "family"> & { latentAt?: Date },
): Promise<{ targets: Target[]; armedBefore: Set<string> }> {
  const max = options.maxTargets ?? DEFAULT_MAX_ARMED;
  const family = options.family;
  const ours = (host: string) => family === undefined || ipFamily(host) === family;
  const targets = new Map<string, Target>();
  for await (const state of allItems((cursor) =>
    options.store.listExposed({ limit: 1000, ...(cursor ? { cursor } : {}) }),
  )) {
    if (targets.size >= max) break;
    if (!ours(state.ip)) continue;
    targets.set(state.endpoint, { host: state.ip, port: state.port, ...(state.asset ? { asset: state.asset } : {}) });
  }
  const armedBefore = new Set<string>();
  for (const target of await options.ledger.armed()) {
    if (!ours(target.host)) continue;
    const endpoint = formatEndpoint(target.host, target.port);
    armedBefore.add(endpoint);
    if (targets.size < max && !targets.has(endpoint)) targets.set(endpoint, target);
  }
  if (options.latentAt !== undefined && targets.size < max) {
    // Per account of the recent scans, every endpoint state of that account (docs/fastpath.md, the cost line).
    for (const state of await loadLatentExposures(options.store, { now: options.latentAt })) {
      if (targets.size >= max) break;
      if (ours(state.ip) && !targets.has(state.endpoint))
        targets.set(state.endpoint, {
          host: state.ip,
          port: state.port,
          ...(state.asset ? { asset: state.asset } : {}),
        });
    }
  }
  return { targets: [...targets.values()], armedBefore };
}

export async function probeArmed(options: ArmedOptions): Promise<ArmedOutcome> {
  // Marks are refreshed once an hour (their ttl is a day), not every minute; latent exposures are read then.
  const refresh = Math.floor(options.scheduledTime.getTime() / 60_000) % 60 === 0;
  const { targets, armedBefore } = await armedTargets({
    ...options,
    ...(refresh ? { latentAt: options.scheduledTime } : {}),
  });
  const probeId = armedProbeId(options.scheduledTime);
  const { results, events } = await probeAndRecord(targets, { ...options, probeId });
  // A latent endpoint that refuses (RST) is armed here, and probed every minute from then on.
  await updateArmed(options.ledger, targets, results, armedBefore, refresh);
  return { probeId, armed: targets.length, probed: results.length, events };
}
