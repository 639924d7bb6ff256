// The cost arithmetic of `npm run -s bench -- cost` (bench/cost.ts measures, this prices): the list prices
// in one table, each with its source, and the monthly bill of one scenario from one measured steady-state
// scan cycle. Pure: the docs test (test/infra/cost-doc.test.ts) re-renders the committed result with it.

/** us-east-1 list prices, before any free tier (an organization's is shared and usually used up). */
export const PRICES = {
  lambdaGbSecond: { usd: 0.0000133334, unit: "GB-s (arm64)", source: "https://aws.amazon.com/lambda/pricing/" },
  lambdaRequest: { usd: 0.2 / 1e6, unit: "request", source: "https://aws.amazon.com/lambda/pricing/" },
  dynamoRead: {
    usd: 0.125 / 1e6,
    unit: "read request unit",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
  },
  dynamoWrite: {
    usd: 0.625 / 1e6,
    unit: "write request unit",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
  },
  dynamoStorage: { usd: 0.25, unit: "GB-month", source: "https://aws.amazon.com/dynamodb/pricing/on-demand/" },
  dynamoPitr: { usd: 0.2, unit: "GB-month", source: "https://aws.amazon.com/dynamodb/pricing/on-demand/" },
  sqsRequest: { usd: 0.4 / 1e6, unit: "request (64 KB chunk)", source: "https://aws.amazon.com/sqs/pricing/" },
  snsPublish: { usd: 0.5 / 1e6, unit: "publish", source: "https://aws.amazon.com/sns/pricing/" },
  customMetric: { usd: 0.3, unit: "metric-month", source: "https://aws.amazon.com/cloudwatch/pricing/" },
  alarm: { usd: 0.1, unit: "standard alarm-month", source: "https://aws.amazon.com/cloudwatch/pricing/" },
  dashboard: { usd: 3, unit: "dashboard-month (beyond 3)", source: "https://aws.amazon.com/cloudwatch/pricing/" },
  logIngest: { usd: 0.5, unit: "GB ingested", source: "https://aws.amazon.com/cloudwatch/pricing/" },
  kmsKey: { usd: 1, unit: "customer-managed key-month", source: "https://aws.amazon.com/kms/pricing/" },
  kmsRequest: { usd: 0.03 / 10_000, unit: "request", source: "https://aws.amazon.com/kms/pricing/" },
  xrayTrace: { usd: 5 / 1e6, unit: "trace recorded", source: "https://aws.amazon.com/xray/pricing/" },
  dataOut: { usd: 0.09, unit: "GB out to the internet", source: "https://aws.amazon.com/ec2/pricing/on-demand/" },
} as const;

export const SWEEPS_PER_MONTH = 2_880; // every 15 minutes, 30 days

/** Lambda's SQS event source polls an idle queue with 5 long polls of 20 s: 15 requests a minute, all month. */
export const SQS_IDLE_POLLS_PER_MONTH = 5 * 3 * 60 * 24 * 30;

/** Powertools' JSON envelope around each log line, and Lambda's START/END/REPORT lines per invocation. */
export const LOG_ENVELOPE_BYTES = 260;
export const LOG_PLATFORM_BYTES_PER_INVOCATION = 340;

/** One steady-state scan cycle as measured by bench/cost.ts. */
export interface CycleMeasure {
  scenario: string;
  cycle: number;
  targets: number;
  shards: number;
  invocations: number;
  /** DynamoDB requests by command; read and write units by "table" or index name (failed writes included). */
  requests: Record<string, number>;
  readUnits: Record<string, number>;
  writeUnits: Record<string, number>;
  /** Requests and units by "<command> <item kind>" (bench/cost.ts itemKind), failed conditional writes included. */
  operations?: Record<string, { requests: number; units: number }>;
  /** Wall time of each probe invocation (a batch of shards), and of queueing the scan. */
  invocationMs: number[];
  enumerateMs: number;
  shardMessageBytes: number[];
  /** IP bytes the scanner sent on its link (SYNs, requests; Ethernet headers taken off): data transfer out. */
  probeBytesOut: number;
  events: number;
  alerts: number;
  gaps: number;
  /** Log bytes the functions write per sweep at their configured levels (not per target: gap details, metrics). */
  logBytes: number;
  /** Bytes of every item kept per endpoint (state, digest) and per scan (meta, progress), index copies included. */
  storedBytesPerEndpoint: number;
  storedBytesPerScan: number;
  /** Probe verdicts that match the fleet's ground truth. */
  correct: number;
  countsByState: Record<string, number>;
}

/** The deployment's fixed parts and sizes the bill depends on (infra/sizing.ts, infra/monitor-stack.ts). */
export interface Deployment {
  probeMemoryGb: number;
  enumerateMemoryGb: number;
  /** Cold starts per sweep: an environment idle for 15 minutes is usually gone. */
  probeMaxConcurrency: number;
  initSeconds: number;
  customMetrics: number;
  alarms: number;
  dashboards: number;
  kmsKeys: number;
  /** Functions with active tracing, and the probe's sampling. */
  tracedInvocationsPerSweep: number;
  scanRetentionDays: number;
}

export interface LineItem {
  name: string;
  quantity: string;
  usd: number;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const units = (byTarget: Record<string, number>) => sum(Object.values(byTarget));

/** The monthly line items for `addresses` swept every 15 minutes, from one measured cycle. */
export function monthlyBill(
  cycle: CycleMeasure,
  addresses: number,
  d: Deployment,
  enumerateSeconds: number,
): LineItem[] {
  const n = SWEEPS_PER_MONTH;
  const scale = addresses / cycle.targets;
  const invocations = Math.max(1, Math.round(cycle.invocations * scale));
  const coldStarts = Math.min(invocations, d.probeMaxConcurrency);
  const probeSeconds = (sum(cycle.invocationMs) / 1000) * scale + coldStarts * d.initSeconds;
  const enumerate = enumerateSeconds + cycle.enumerateMs / 1000 + d.initSeconds;
  const reads = units(cycle.readUnits) * scale * n;
  const writes = units(cycle.writeUnits) * scale * n;
  const messages = cycle.shards * scale;
  const meanMessage = sum(cycle.shardMessageBytes) / Math.max(1, cycle.shardMessageBytes.length);
  // Send in batches of 10, receive per invocation, delete per invocation: each 64 KB chunk is a request.
  const chunk = (bytes: number) => Math.max(1, Math.ceil(bytes / 65_536));
  const sqsPerSweep = 2 * chunk(meanMessage * 10) * Math.ceil(messages / 10) + invocations;
  const storedGb =
    (cycle.storedBytesPerEndpoint * addresses + cycle.storedBytesPerScan * n * (d.scanRetentionDays / 30)) / 1e9;
  const logGb = ((cycle.logBytes + invocations * LOG_PLATFORM_BYTES_PER_INVOCATION) * n) / 1e9;
  const kmsRequests = (coldStarts + 1) * n;
  const p = PRICES;
  const readDetail = Object.entries(cycle.readUnits)
    .map(([k, v]) => `${k} ${fmt(v * scale * n)}`)
    .join(", ");
  const writeDetail = Object.entries(cycle.writeUnits)
    .map(([k, v]) => `${k} ${fmt(v * scale * n)}`)
    .join(", ");
  return [
    {
      name: "Lambda probe (GB-s, INIT included)",
      quantity: `${fmt(invocations)} invocations x ${(probeSeconds / invocations).toFixed(2)} s x ${d.probeMemoryGb} GB x ${fmt(n)}`,
      usd: probeSeconds * d.probeMemoryGb * n * p.lambdaGbSecond.usd,
    },
    {
      name: "Lambda enumerate (GB-s)",
      quantity: `${enumerate.toFixed(1)} s x ${d.enumerateMemoryGb} GB x ${fmt(n)}`,
      usd: enumerate * d.enumerateMemoryGb * n * p.lambdaGbSecond.usd,
    },
    {
      name: "Lambda requests",
      quantity: fmt((invocations + 1) * n),
      usd: (invocations + 1) * n * p.lambdaRequest.usd,
    },
    { name: "DynamoDB read units", quantity: `${fmt(reads)} (${readDetail})`, usd: reads * p.dynamoRead.usd },
    { name: "DynamoDB write units", quantity: `${fmt(writes)} (${writeDetail})`, usd: writes * p.dynamoWrite.usd },
    {
      name: "DynamoDB storage + PITR",
      quantity: `${storedGb.toFixed(3)} GB`,
      usd: storedGb * (p.dynamoStorage.usd + p.dynamoPitr.usd),
    },
    {
      name: "SQS requests",
      quantity: `${fmt(sqsPerSweep * n)} + ${fmt(SQS_IDLE_POLLS_PER_MONTH)} idle polls`,
      usd: (sqsPerSweep * n + SQS_IDLE_POLLS_PER_MONTH) * p.sqsRequest.usd,
    },
    {
      name: "SNS publishes (alerts)",
      quantity: fmt(cycle.alerts * scale * n),
      usd: cycle.alerts * scale * n * p.snsPublish.usd,
    },
    { name: "CloudWatch custom metrics", quantity: String(d.customMetrics), usd: d.customMetrics * p.customMetric.usd },
    { name: "CloudWatch alarms", quantity: String(d.alarms), usd: d.alarms * p.alarm.usd },
    { name: "CloudWatch dashboard", quantity: String(d.dashboards), usd: d.dashboards * p.dashboard.usd },
    { name: "CloudWatch Logs ingested", quantity: `${logGb.toFixed(3)} GB`, usd: logGb * p.logIngest.usd },
    { name: "KMS keys", quantity: String(d.kmsKeys), usd: d.kmsKeys * p.kmsKey.usd },
    { name: "KMS requests", quantity: fmt(kmsRequests), usd: kmsRequests * p.kmsRequest.usd },
    {
      name: "X-Ray traces",
      quantity: fmt(d.tracedInvocationsPerSweep * n),
      usd: d.tracedInvocationsPerSweep * n * p.xrayTrace.usd,
    },
    {
      name: "Data transfer out (probes)",
      quantity: `${((cycle.probeBytesOut * scale * n) / 1e9).toFixed(1)} GB`,
      usd: ((cycle.probeBytesOut * scale * n) / 1e9) * p.dataOut.usd,
    },
  ];
}

export const total = (items: LineItem[]) => sum(items.map((item) => item.usd));

export interface CostResult {
  deployment: Deployment;
  /** The bills: 1% exposed, 10% exposed, 1,000 coverage gaps (all at 100,000 IPs), 1,000 IPs. */
  bills: {
    key: "A" | "B" | "C" | "D";
    label: string;
    addresses: number;
    /** Enumerate's time per sweep reading the organization's inventory: AWS APIs are not in the lab (an assumption). */
    enumerateSeconds: number;
    cycle: CycleMeasure;
    items: LineItem[];
  }[];
}

export function lastLine(result: CostResult): string {
  const usd = (key: string) => total(result.bills.find((bill) => bill.key === key)?.items ?? []).toFixed(2);
  return `cost: 100000 IPs every 15 min: $${usd("A")}/month at 1% exposed, $${usd("B")}/month at 10% exposed, $${usd("C")}/month with 1000 coverage gaps; 1000 IPs: $${usd("D")}/month`;
}

/** The breakdown as a Markdown table: one row per line item, one column per bill. README and the deploy doc quote it. */
export function breakdownTable(result: CostResult): string {
  const header = `| item | ${result.bills.map((bill) => bill.label).join(" | ")} |`;
  const rule = `| --- | ${result.bills.map(() => "---:").join(" | ")} |`;
  const names = result.bills[0]?.items.map((item) => item.name) ?? [];
  const rows = names.map(
    (name) =>
      `| ${name} | ${result.bills.map((bill) => `$${(bill.items.find((i) => i.name === name)?.usd ?? 0).toFixed(2)}`).join(" | ")} |`,
  );
  const totals = `| **total** | ${result.bills.map((bill) => `**$${total(bill.items).toFixed(2)}**`).join(" | ")} |`;
  return [header, rule, ...rows, totals].join("\n");
}
