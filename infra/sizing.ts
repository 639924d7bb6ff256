// Lambda sizing for the scan cycle, in one place so the stack, the handlers' environment and the cost
// arithmetic in docs/readme-deploy.md agree. Change a number here and re-check the cost table.
import { DEFAULT_SOCKETS } from "../shared/probe/adaptive.ts";

/**
 * Targets per SQS message (one shard = one probe invocation). A target with its owner (account, region,
 * resource id, name, tags) serialises to ~200-300 bytes of JSON, so 500 targets stay near 150 KB, well
 * under SQS's 256 KiB message limit even with long tag values.
 */
export const SHARD_SIZE = 500;

/**
 * Sockets one probe invocation keeps open at once: the engine's one default for every command
 * (shared/probe/adaptive.ts DEFAULT_SOCKETS explains how it fits Lambda's 1,024 descriptors with the
 * runtime's and the SDK's own). A shard has at most SHARD_SIZE targets, so no more sockets than that
 * are ever open in one invocation.
 */
export const PROBE_SOCKET_CONCURRENCY = DEFAULT_SOCKETS;

/**
 * Measured (bench/results, `npm run bench`, 2-core machine under load): the probe engine classified a
 * 10,000-endpoint fleet (60% filtered, 30% closed, 10% answering in every state) with 1,000 sockets in 10.3 s,
 * ~900 targets/s, at 177 MB peak RSS. A 500-target shard with 500 sockets is therefore ~1 s of probing.
 *
 * Probe memory: RSS is far below 512 MB, but CPU share scales with memory (1,769 MB = 1 vCPU) and the
 * engine's adaptive timeouts suffer from event-loop delay (p99 171 ms in that run); 1,024 MB buys ~0.58
 * vCPU so a starved event loop does not turn slow answers into false "filtered".
 */
export const PROBE_MEMORY_MB = 1024;

/**
 * Shard messages one probe invocation takes (the SQS event source's batch size): their targets are
 * probed at once, the sockets shared between them (functions/probe.ts), so one invocation probes up to
 * PROBE_BATCH_SIZE x SHARD_SIZE = 4,000 targets and pays its start and its slowest answer once, not per
 * 500. Chosen by measurement (`npm run -s bench -- cost`, docs/readme-deploy.md "What it costs").
 */
export const PROBE_BATCH_SIZE = 8;

/** How long the event source may wait to fill a batch (the shards of a scan are queued at once). */
export const PROBE_BATCHING_WINDOW_SECONDS = 1;

/**
 * Probe timeout: a batch of PROBE_BATCH_SIZE shards probes ~4,000 targets with the shared sockets
 * (~5 waves of a per-target deadline of at most ~10 s for a slow peer), then records them: the digests
 * make an unchanged observation free (docs/readme-store.md). 120 s is a few times that worst case.
 */
export const PROBE_TIMEOUT_SECONDS = 120;

/** SQS visibility timeout: AWS recommends six times the consumer's timeout for Lambda event sources. */
export const SHARD_VISIBILITY_TIMEOUT_SECONDS = 6 * PROBE_TIMEOUT_SECONDS;

/** A shard that fails this many receives goes to the dead-letter queue (and the DLQ alarm fires). */
export const SHARD_MAX_RECEIVE_COUNT = 3;

/** Default cap on concurrent probe invocations (SQS event source maximum concurrency, 2-1,000). */
export const DEFAULT_PROBE_MAX_CONCURRENCY = 20;

/**
 * Enumerate reads every account x enabled region (ENIs, Elastic IPs, Lightsail, Global Accelerator)
 * through assumed roles; for hundreds of accounts that is tens of thousands of paginated API calls.
 * 10 minutes stays inside the default 15-minute schedule. The work is waiting on API calls: 256 MB holds
 * the target list (~30 MB of JSON for 100,000 targets with owners) with room to spare.
 */
export const ENUMERATE_MEMORY_MB = 256;
export const ENUMERATE_TIMEOUT_SECONDS = 600;

/** Notify renders and publishes a handful of alerts per batch of stream records. */
export const NOTIFY_MEMORY_MB = 256;
export const NOTIFY_TIMEOUT_SECONDS = 30;
/** Stream records per notify invocation; bisect-on-error narrows a failing record down from here. */
export const NOTIFY_BATCH_SIZE = 10;
/** Retries of a failing stream batch before it goes to the on-failure queue. */
export const NOTIFY_RETRY_ATTEMPTS = 5;

/** Default scan schedule. */
export const DEFAULT_SCHEDULE_MINUTES = 15;

/**
 * The alert retry queue: a message comes back after this visibility timeout (six times the retry
 * function's timeout, as SQS event sources want), and moves to its dead-letter queue after this many
 * receives: about half an hour of retries for a channel that is down.
 */
export const ALERT_RETRY_VISIBILITY_TIMEOUT_SECONDS = 6 * NOTIFY_TIMEOUT_SECONDS;
export const ALERT_RETRY_MAX_RECEIVE_COUNT = 10;
