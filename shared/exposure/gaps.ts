// Coverage gaps kept with a scan record: all of them while few, else one line per source and error
// class with a count (docs/readme-store.md, "Scan records"), so that an organization where an SCP denies
// whole regions (thousands of gaps) still gets a scan record of a few kilobytes. The details go to the
// enumerate function's log once per scan.
import type { CoverageGap } from "./model.ts";

/** Up to this many gaps are kept one by one. */
export const MAX_GAP_DETAILS = 20;

/** "AccessDenied: User ... is not authorized" -> "AccessDenied"; anything else -> "Error". */
export function gapErrorClass(error: string): string {
  const head = error.split(":")[0]?.trim() ?? "";
  return /^[A-Za-z][\w.-]{0,63}$/.test(head) ? head : "Error";
}

/** How many gaps a (possibly summarised) list stands for. */
export function gapCount(gaps: readonly CoverageGap[]): number {
  return gaps.reduce((sum, gap) => sum + (gap.count ?? 1), 0);
}

export function summariseGaps(gaps: readonly CoverageGap[]): CoverageGap[] {
  if (gapCount(gaps) <= MAX_GAP_DETAILS) return [...gaps];
  const groups = new Map<string, CoverageGap[]>();
  for (const gap of gaps) {
    const key = `${gap.source}\n${gapErrorClass(gap.error)}`;
    groups.set(key, [...(groups.get(key) ?? []), gap]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as CoverageGap;
    const same = <K extends "accountId" | "region">(k: K) => group.every((gap) => gap[k] === first[k]);
    return {
      ...(first.accountId !== undefined && same("accountId") ? { accountId: first.accountId } : {}),
      ...(first.region !== undefined && same("region") ? { region: first.region } : {}),
      source: first.source,
      error: gapErrorClass(first.error),
      count: gapCount(group),
    };
  });
}
