// The store as the rest of the monitor sees it: domain types in, domain types out. Nothing here (or in
// anything that uses this interface) knows about DynamoDB or SQLite. Two implementations: dynamo-store.ts
// (the deployed table) and sqlite/ (the laptop's embedded store); one contract test suite runs against
// both (test/integration/store-contract.ts), and what they must agree on beyond the rules is in contract.ts.
import type { Acknowledgement } from "../exposure/acknowledgement.ts";
import type {
  CoverageGap,
  Exposure,
  ProbeResult,
  ScanCounts,
  ScanRecord,
  StateChangeEvent,
} from "../exposure/model.ts";
import type { EndpointState, TransitionOutcome } from "../exposure/transitions.ts";

export type { EndpointState, TransitionOutcome };

/** One page of a listing. Pass `cursor` back to get the next page; no cursor means the listing is complete. */
export interface Page<T> {
  items: T[];
  cursor?: string;
}

export interface PageOptions {
  /** Items per page (default 100). */
  limit?: number;
  cursor?: string;
}

/** ISO 8601 instants; `from` inclusive, `to` exclusive. */
export interface TimeRange {
  from: string;
  to: string;
}

export interface RecordOptions {
  /** The scan that made the observation; kept on the event and the record. */
  scanId?: string;
  /** Rewrite an unchanged endpoint once its record is older than this (default 24 h). */
  checkpointIntervalMs?: number;
}

export interface RecordResult {
  /** See TransitionOutcome: changed | first-seen | pending | checkpoint | unchanged | stale | duplicate. */
  outcome: TransitionOutcome;
  /** The recorded state-change event (only when outcome is "changed"); its `alerts` say what to send. */
  event?: StateChangeEvent;
  /** The endpoint's record after this call (as written, or as read when nothing was written). */
  state: EndpointState | null;
}

export interface ShardRecordOptions {
  /** The scan that made the observations; kept on the events and records. */
  scanId?: string;
  /** As in RecordOptions; digests never rewrite an unchanged endpoint, whatever this says. */
  checkpointIntervalMs?: number;
}

/** What recording one observation of a shard did (RecordResult without the record). */
export interface ShardRecordResult {
  outcome: TransitionOutcome;
  event?: StateChangeEvent;
}

/**
 * Records a shard's observations (beginShard). Reads what is recorded for the shard's endpoints once
 * (the digests of their buckets, docs/readme-store.md), so that unchanged observations cost nothing.
 */
export interface ShardRecorder {
  /** The exposure recorded at the endpoint's last observation; undefined when never seen. */
  recordedExposure(endpoint: string): Exposure | undefined;
  /**
   * Records observations of the shard's endpoints, with the same decisions, events and guarantees as
   * recordObservation (safe to repeat, concurrently, out of order). Results are in the order given.
   */
  record(results: readonly ProbeResult[]): Promise<ShardRecordResult[]>;
}

export interface ScanStart {
  scanId: string;
  /** Default: the store's clock. */
  startedAt?: string;
  targets: number;
  shards: number;
  accountsRead?: string[];
  regionsRead?: string[];
  gaps?: CoverageGap[];
}

export interface ShardReport {
  scanId: string;
  shardId: string;
  /** How many targets of this shard ended in each state. */
  countsByState: ScanCounts;
}

export interface ShardResult {
  /** False when this shard had already been counted (a redelivery): nothing was added. */
  counted: boolean;
  /** True only for the one call that marked the scan complete. */
  completed: boolean;
  scan: ScanRecord;
}

export interface ExposureStore {
  /**
   * Records one probe result: decides the transition (shared/exposure/transitions.ts) against the current
   * record and writes the record and the event atomically, only if nobody wrote in between (else re-reads
   * and decides again). Safe to call again with the same result, concurrently, and out of order.
   */
  recordObservation(result: ProbeResult, options?: RecordOptions): Promise<RecordResult>;

  /** Starts recording a shard: `endpoints` are all its targets ("ip:port"), read once here. */
  beginShard(endpoints: readonly string[], options?: ShardRecordOptions): Promise<ShardRecorder>;

  /** The current record of "ip:port" / "[ipv6]:port", or null if never seen. */
  getEndpoint(endpoint: string): Promise<EndpointState | null>;
  /** Every recorded endpoint (port) of one IP, by port. */
  endpointsOfIp(ip: string): Promise<EndpointState[]>;
  /** The endpoint's state-change events, oldest first, optionally within a time range. */
  history(endpoint: string, options?: Partial<TimeRange> & PageOptions): Promise<Page<StateChangeEvent>>;
  /** Every endpoint whose recorded exposure is not `none`: unauthenticated first, then by worst finding, then longest exposed. */
  listExposed(options?: PageOptions): Promise<Page<EndpointState>>;
  /** Every event of every endpoint in a time range, oldest first. */
  eventsBetween(range: TimeRange, options?: PageOptions): Promise<Page<StateChangeEvent>>;
  /** Endpoints owned by an AWS account, optionally one resource of it. */
  endpointsByOwner(accountId: string, options?: { resourceId?: string } & PageOptions): Promise<Page<EndpointState>>;

  /** Creates the scan record; calling it again for the same scanId returns the existing one (created: false). */
  startScan(start: ScanStart): Promise<{ created: boolean; scan: ScanRecord }>;
  /** Adds one shard's counts exactly once; the call that counts the last shard completes the scan. */
  recordShard(report: ShardReport): Promise<ShardResult>;
  getScan(scanId: string): Promise<ScanRecord | null>;
  /** Scans started in a time range, oldest first. */
  listScans(range: TimeRange, options?: PageOptions): Promise<Page<ScanRecord>>;

  /** Records an acknowledgement (shared/exposure/acknowledgement.ts); its id is unique. */
  putAcknowledgement(ack: Acknowledgement): Promise<void>;
  /** Every acknowledgement ever made, of one endpoint or of all, oldest first (revoked and expired too). */
  listAcknowledgements(endpoint?: string): Promise<Acknowledgement[]>;
  /** Revokes the endpoint's acknowledgements still in force at `at`; returns those it revoked. */
  revokeAcknowledgements(endpoint: string, at: string, by: string): Promise<Acknowledgement[]>;
  /** Marks the expiry alert of one acknowledgement as raised; false if it already was (exactly once). */
  markExpiryAlerted(ack: Acknowledgement, at: string): Promise<boolean>;
}

/** Walks every page of a listing: `for await (const item of allItems((cursor) => store.listExposed({ cursor })))`. */
export async function* allItems<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    yield* page.items;
    cursor = page.cursor;
  } while (cursor !== undefined);
}
