// What a completed scan emits: probe errors count as coverage gaps (the alarmed metric), never as endpoints.
import { describe, expect, it, vi } from "vitest";
import { logger, metrics } from "../../functions/commons/powertools.ts";
import { emitScanCompleted } from "../../functions/commons/scan-metrics.ts";
import type { ScanRecord } from "../../shared/exposure/model.ts";
import { METRIC } from "../../shared/metrics-names.ts";

const scan = (countsByState: ScanRecord["countsByState"]): ScanRecord => ({
  scanId: "scan-20261126T000000Z-abcdef",
  startedAt: "2026-11-26T00:00:00.000Z",
  completedAt: "2026-11-26T00:01:00.000Z",
  targets: 10,
  shards: 1,
  shardsDone: 1,
  countsByState,
  accountsRead: [],
  regionsRead: [],
  gaps: [],
});

describe("emitScanCompleted", () => {
  it("emits probe errors as coverage gaps and keeps them out of the endpoints by exposure", () => {
    const added = vi.spyOn(metrics, "addMetric").mockImplementation(() => metrics);
    const logged = vi.spyOn(logger, "info").mockImplementation(() => undefined);
    emitScanCompleted(scan({ "open-unauthenticated": 1, closed: 6, "probe-error": 3 }));
    expect(added.mock.calls.map(([name, , value]) => [name, value])).toEqual([
      [METRIC.scansCompleted, 1],
      [METRIC.coverageGaps, 3],
    ]);
    expect(logged.mock.calls[0]?.[1]).toMatchObject({
      endpointsByExposure: { none: 6, reachable: 0, unauthenticated: 1 },
      probeErrors: 3,
    });
    added.mockClear();
    emitScanCompleted(scan({ closed: 10 }));
    expect(added.mock.calls.map(([name]) => name)).toEqual([METRIC.scansCompleted]);
    added.mockRestore();
    logged.mockRestore();
  });
});
