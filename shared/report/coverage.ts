// Evidence that monitoring ran continuously: the scans of the period, the longest stretch without a
// completed scan, and the share of the period that was covered.
//
// Definitions (also in docs/readme-report.md):
// - A scan is "completed" when it has a completedAt; its coverage gaps (accounts or regions it could not
//   read) are listed but do not make it incomplete.
// - A scan belongs to the period when it started or completed inside [from, to).
// - Longest interval without a completed scan: the largest of (first completion - from),
//   (next completion - previous completion) and (to - last completion), completions inside [from, to) only;
//   the whole period when nothing completed.
// - Covered share: the fraction of [from, to) made of moments t for which some scan completed in
//   (t - 2 x schedule interval, t]. One missed run is tolerated; two in a row show as uncovered time.
//   Scans that completed shortly before `from` count here, so a period does not start uncovered.
import type { ScanRecord } from "../exposure/model.ts";
import { toIso, toMs } from "./time.ts";
import type { Coverage, Interval, ScanSummary } from "./types.ts";
import { compareText } from "./windows.ts";

export function computeCoverage(
  records: readonly ScanRecord[],
  fromMs: number,
  toMs_: number,
  scheduleIntervalMs: number,
): Coverage {
  if (!(scheduleIntervalMs > 0)) throw new RangeError("the schedule interval must be positive");
  const inPeriod = (iso: string | null) => iso !== null && toMs(iso) >= fromMs && toMs(iso) < toMs_;
  const unique = new Map(records.map((record) => [record.scanId, record]));
  const scans: ScanSummary[] = [...unique.values()]
    .filter((record) => inPeriod(record.startedAt) || inPeriod(record.completedAt))
    .map((record) => ({
      scanId: record.scanId,
      startedAt: toIso(toMs(record.startedAt, "scan start")),
      completedAt: record.completedAt === null ? null : toIso(toMs(record.completedAt, "scan completion")),
      status: record.completedAt === null ? ("incomplete" as const) : ("completed" as const),
      targets: record.targets,
      shards: record.shards,
      shardsDone: record.shardsDone,
      accountsRead: [...record.accountsRead].sort(compareText),
      regionsRead: [...record.regionsRead].sort(compareText),
      gaps: [...record.gaps].sort(
        (a, b) =>
          compareText(a.source, b.source) ||
          compareText(a.accountId ?? "", b.accountId ?? "") ||
          compareText(a.region ?? "", b.region ?? "") ||
          compareText(a.error, b.error),
      ),
    }))
    .sort((a, b) => compareText(a.startedAt, b.startedAt) || compareText(a.scanId, b.scanId));

  const completions = [...unique.values()]
    .filter((record) => record.completedAt !== null)
    .map((record) => toMs(record.completedAt!))
    .sort((a, b) => a - b);
  const inside = completions.filter((ms) => ms >= fromMs && ms < toMs_);

  return {
    scheduleIntervalMs,
    scans,
    completedScans: scans.filter((scan) => scan.status === "completed").length,
    incompleteScans: scans.filter((scan) => scan.status === "incomplete").length,
    scansWithGaps: scans.filter((scan) => scan.gaps.length > 0).length,
    longestWithoutCompletedScan: longestGap(inside, fromMs, toMs_),
    coveredShare:
      Math.round((coveredMs(completions, fromMs, toMs_, 2 * scheduleIntervalMs) / (toMs_ - fromMs)) * 10_000) / 10_000,
  };
}

function longestGap(completions: readonly number[], fromMs: number, toMs_: number): Interval {
  const edges = [fromMs, ...completions, toMs_];
  let best = { from: fromMs, to: toMs_, durationMs: -1 };
  for (let i = 1; i < edges.length; i++) {
    const duration = edges[i]! - edges[i - 1]!;
    if (duration > best.durationMs) best = { from: edges[i - 1]!, to: edges[i]!, durationMs: duration };
  }
  return { from: toIso(best.from), to: toIso(best.to), durationMs: best.durationMs };
}

/** The length of the union of [c, c + horizon) over completions c, within [from, to). */
function coveredMs(completions: readonly number[], fromMs: number, toMs_: number, horizonMs: number): number {
  let covered = 0;
  let reach = fromMs; // everything before `reach` is already counted
  for (const completion of completions) {
    const start = Math.max(completion, reach);
    const end = Math.min(completion + horizonMs, toMs_);
    if (end > start) {
      covered += end - start;
      reach = end;
    }
  }
  return covered;
}
