// Scoring against ground truth, and nmap's XML mapped onto our states. Pure functions, unit-tested.
import {
  type Exposure,
  exposureOf,
  PROBE_STATES,
  type ProbeResult,
  type ProbeState,
} from "../shared/exposure/model.ts";
import type { Endpoint } from "./fleet.ts";

/** What a tool said about one address, in our vocabulary. */
export interface Verdict {
  /** Null when the tool cannot tell the state (nmap: open, but redis-info printed nothing). */
  state: ProbeState | null;
  exposure: Exposure;
  version?: string | null;
}

export interface StateScore {
  total: number;
  correct: number;
  /** What the wrong verdicts said ("filtered", "unknown"...), with counts. */
  wrong: Record<string, number>;
}

export interface Score {
  total: number;
  /** Same state as the ground truth. */
  correct: number;
  /** Same exposure level (none / reachable / unauthenticated). */
  exposureCorrect: number;
  /** Unauthenticated endpoints whose redis_version was read right. */
  versionsRead: number;
  versionsExpected: number;
  missing: number;
  byState: Partial<Record<ProbeState, StateScore>>;
}

export function verdictOf(result: ProbeResult): Verdict {
  return { state: result.state, exposure: result.exposure, version: result.protocol.version ?? null };
}

export function score(endpoints: Endpoint[], verdicts: Map<string, Verdict>): Score {
  const result: Score = {
    total: endpoints.length,
    correct: 0,
    exposureCorrect: 0,
    versionsRead: 0,
    versionsExpected: 0,
    missing: 0,
    byState: {},
  };
  for (const endpoint of endpoints) {
    const verdict = verdicts.get(endpoint.ip);
    const bucket = result.byState[endpoint.truth] ?? { total: 0, correct: 0, wrong: {} };
    result.byState[endpoint.truth] = bucket;
    bucket.total++;
    if (endpoint.version !== undefined) result.versionsExpected++;
    if (!verdict) {
      result.missing++;
      bucket.wrong.missing = (bucket.wrong.missing ?? 0) + 1;
      continue;
    }
    if (verdict.state === endpoint.truth) {
      result.correct++;
      bucket.correct++;
    } else {
      const said = verdict.state ?? `${verdict.exposure} (state not reported)`;
      bucket.wrong[said] = (bucket.wrong[said] ?? 0) + 1;
    }
    if (verdict.exposure === exposureOf(endpoint.truth)) result.exposureCorrect++;
    if (endpoint.version !== undefined && verdict.version === endpoint.version) result.versionsRead++;
  }
  return result;
}

const XML_ENTITIES: Record<string, string> = { "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&apos;": "'" };
function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#\d+);/g, (entity) => {
    if (entity.startsWith("&#x")) return String.fromCodePoint(Number.parseInt(entity.slice(3, -1), 16));
    if (entity.startsWith("&#")) return String.fromCodePoint(Number(entity.slice(2, -1)));
    return XML_ENTITIES[entity] ?? entity;
  });
}

/**
 * Maps `nmap -sT -p6379 --script redis-info -oX` output onto our states, as fairly as nmap's output
 * allows: port `closed` -> closed, `filtered` -> filtered; `open` with a `Version` from redis-info
 * -> open-unauthenticated (INFO answered without credentials). An open port where redis-info printed
 * nothing is exposure `reachable` with no state: without `-d` nmap hides the script's error (e.g.
 * "Authentication required"), so auth-required, protected mode, busy, dropped and not-redis all
 * look alike there. A script error, when shown, is mapped with the same reply rules our probe uses.
 */
export function parseNmapXml(xml: string, classifyError: (message: string) => ProbeState): Map<string, Verdict> {
  const verdicts = new Map<string, Verdict>();
  for (const host of xml.split("<host ").slice(1)) {
    const address = /<address addr="([^"]+)" addrtype="ipv[46]"/.exec(host)?.[1];
    if (!address) continue;
    const portState = /<port protocol="tcp" portid="\d+"><state state="([a-z|]+)"/.exec(host)?.[1];
    if (portState === "closed") verdicts.set(address, { state: "closed", exposure: "none" });
    else if (portState === "filtered" || portState === "open|filtered" || portState === undefined) {
      verdicts.set(address, { state: "filtered", exposure: "none" });
    } else {
      const output = unescapeXml(/<script id="redis-info" output="([^"]*)"/.exec(host)?.[1] ?? "");
      const version = /Version: (\S+)/.exec(output)?.[1];
      if (version) verdicts.set(address, { state: "open-unauthenticated", exposure: "unauthenticated", version });
      else if (/ERROR: /.test(output)) {
        const message = output.replace(/^[\s\S]*ERROR: /, "").trim();
        const state = /Authentication required/i.test(message)
          ? "auth-required"
          : classifyError(message.replace(/^-/, ""));
        verdicts.set(address, { state, exposure: exposureOf(state) });
      } else verdicts.set(address, { state: null, exposure: "reachable" });
    }
  }
  return verdicts;
}

export function statesInOrder(byState: Partial<Record<ProbeState, unknown>>): ProbeState[] {
  return PROBE_STATES.filter((state) => byState[state] !== undefined);
}
