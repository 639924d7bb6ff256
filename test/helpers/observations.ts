// Builders for probe results (the store's and the transition rules' input) used by their tests.
import { exposureOf, type Finding, type ProbeResult, type ProbeState } from "../../shared/exposure/model.ts";

export const T0 = Date.parse("2026-03-01T10:00:00.000Z");

/** T0 plus n minutes, as an ISO string. */
export const minutes = (n: number) => new Date(T0 + n * 60_000).toISOString();

/** A probe result of 203.0.113.10:6379 (or the ip/port given) in `state` at `at`. */
export function observation(state: ProbeState, at: string, extra: Partial<ProbeResult> = {}): ProbeResult {
  const ip = extra.ip ?? "203.0.113.10";
  const port = extra.port ?? 6379;
  return {
    target: `${ip}:${port}`,
    ip,
    port,
    state,
    exposure: exposureOf(state),
    tls: false,
    protocol:
      state === "open-unauthenticated"
        ? { name: "redis", product: "redis", version: "7.2.4", mode: "standalone", role: "master" }
        : state === "auth-required"
          ? { name: "redis", product: "redis", version: null, mode: null, role: null }
          : { name: "redis" },
    findings: [],
    reply: "",
    durationMs: 3,
    observedAt: at,
    ...extra,
  };
}

export const CVE_CRITICAL: Finding = {
  id: "CVE-2025-49844",
  kind: "cve",
  severity: "critical",
  title: "Lua use-after-free (RediShell)",
  evidence: "redis_version:7.2.4",
};
export const CVE_HIGH: Finding = {
  id: "CVE-2025-46817",
  kind: "cve",
  severity: "high",
  title: "Lua unpack overflow",
  evidence: "redis_version:7.2.4",
};
export const CVE_MEDIUM: Finding = { id: "CVE-2024-0001", kind: "cve", severity: "medium", title: "x", evidence: "v" };
export const ROGUE_MASTER: Finding = {
  id: "ioc:rogue-master",
  kind: "compromise",
  severity: "critical",
  title: "replicating from an unknown master",
  evidence: "master_host:198.51.100.7",
};
