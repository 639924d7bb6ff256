// `npm run -s bench -- fastpath` (docs/fastpath.md, "Latency and cost"): replays a burst of change events
// through the fast path's real code in one process and prints the event-to-alert latency (p50/p90/p99)
// and the cost per 100,000 events.
//   events     AuthorizeSecurityGroupIngress on G = events/4 security groups of a member account, spread
//              evenly over one hour compressed into --hour-seconds (every group changes ~4 times)
//   router     routeEvents: the real resolver over HTTP (the SDK against a local fake AWS endpoint with
//              --api-latency-ms per call, the member role assumed once), the ledger's claims coalescing
//   schedule   the re-probe delays (+0, +30 s, +2 min, +10 min), compressed like the hour
//   probe      probeFast against a real redis-server on loopback (--open-percent of the groups' addresses
//              answer as an open Redis, the rest refuse), recorded in the embedded store
//   notify     deliverEventAlerts to a deliverer that stamps the delivery time
// Latency = delivery time - the time the event reached the router (real milliseconds, not compressed);
// AWS's own delivery of the event to the central bus (usually seconds) comes on top.
//   npm run -s bench -- fastpath [--events 10000] [--hour-seconds 60] [--open-percent 5] [--api-latency-ms 20]
import { cpuUsage } from "node:process";
import { intOption, parseCommandArgs, UsageError } from "../cli/args.ts";
import { findRedisServer, freePort, LocalLab } from "../cli/local-lab.ts";
import type { Alert } from "../shared/alerts/alert.ts";
import { deliverEventAlerts } from "../shared/alerts/notify.ts";
import type { BusEvent } from "../shared/fastpath/catalog.ts";
import { probeFast } from "../shared/fastpath/fast-probe.ts";
import { MemoryFastPathLedger } from "../shared/fastpath/ledger.ts";
import { FastPathResolver } from "../shared/fastpath/resolve.ts";
import { routeEvents } from "../shared/fastpath/router.ts";
import type { PlannedProbe } from "../shared/fastpath/schedule.ts";
import { createAwsClientFactory } from "../shared/inventory/clients.ts";
import { SqliteDatabase } from "../shared/store/sqlite/database.ts";
import { SqliteExposureStore } from "../shared/store/sqlite/sqlite-store.ts";
import { cloudTrailEvent } from "../test/fixtures/aws/cloudtrail-events.ts";
import { type FakeCall, startFakeAws, xmlReply } from "../test/fixtures/aws/fake-aws-server.ts";
import { CALLER, httpOrganization, MEMBER, MEMBER_ACCESS_KEY } from "../test/fixtures/aws/http-organization.ts";

/** us-east-1 list prices used for the cost per 100,000 events (docs/fastpath.md states them). */
export const FASTPATH_PRICES = {
  eventBridgeCrossAccountPerMillion: 1.0,
  sqsPerMillion: 0.4,
  lambdaGbSecond: 0.0000133334,
  lambdaRequestPerMillion: 0.2,
  dynamoWritePerMillion: 0.625,
  dynamoReadPerMillion: 0.125,
  stsFree: 0,
};

const addressOf = (group: number) =>
  `35.${100 + Math.floor(group / 65_536)}.${Math.floor(group / 256) % 256}.${group % 256}`;

function world(groups: number) {
  const sts = httpOrganization();
  return (call: FakeCall) => {
    if (call.service === "sts") return sts(call);
    if (call.action !== "DescribeNetworkInterfaces" || call.accessKeyId !== MEMBER_ACCESS_KEY) {
      throw new Error(`unexpected ${call.service}:${call.action}`);
    }
    const group = Number((call.params.get("Filter.1.Value.1") ?? "sg-0").replace("sg-", "")) % groups;
    const ip = addressOf(group);
    return xmlReply(`<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>fc45294c-006b-457b-bab9-012f5b3b0e40</requestId>
  <networkInterfaceSet><item>
    <networkInterfaceId>eni-${String(group).padStart(17, "0")}</networkInterfaceId><subnetId>subnet-0pub00000000001</subnetId>
    <vpcId>vpc-0000000000000001</vpcId><description/><ownerId>${MEMBER}</ownerId><status>in-use</status>
    <privateIpAddress>10.0.0.1</privateIpAddress><groupSet><item><groupId>sg-${group}</groupId></item></groupSet>
    <attachment><instanceId>i-${String(group).padStart(17, "0")}</instanceId><status>attached</status></attachment>
    <association><publicIp>${ip}</publicIp><ipOwnerId>amazon</ipOwnerId></association>
    <interfaceType>interface</interfaceType>
  </item></networkInterfaceSet>
</DescribeNetworkInterfacesResponse>`);
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      events: { type: "string" },
      "hour-seconds": { type: "string" },
      "open-percent": { type: "string" },
      "api-latency-ms": { type: "string" },
    },
    false,
  );
  const events = intOption("events", values.events, 10_000, 10, 1_000_000);
  const hourSeconds = intOption("hour-seconds", values["hour-seconds"], 60, 10, 3600);
  const openPercent = intOption("open-percent", values["open-percent"], 5, 0, 100);
  const apiLatencyMs = intOption("api-latency-ms", values["api-latency-ms"], 20, 0, 5000);
  const binary = findRedisServer();
  if (binary === null) throw new UsageError("redis-server is not installed");
  const compression = 3600 / hourSeconds;
  const groups = Math.max(1, Math.floor(events / 4));
  const openGroups = Math.round((groups * openPercent) / 100);

  const lab = new LocalLab(binary);
  const redis = await lab.add("open", null);
  const closedPort = await freePort();
  const server = await startFakeAws(world(groups), { latencyMs: apiLatencyMs });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: CALLER.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CALLER.secretAccessKey,
    AWS_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
  });
  const clients = createAwsClientFactory({ callTimeoutMs: 10_000 });
  const resolver = new FastPathResolver(clients, { externalId: "bench", callTimeoutMs: 10_000 });
  const db = new SqliteDatabase({ path: ":memory:" });
  const store = new SqliteExposureStore({ db });
  const started = performance.now();
  // The ledger's clock runs compressed, like the schedule: a one-minute claim lasts one compressed minute.
  const ledger = new MemoryFastPathLedger(() => Date.now() + (performance.now() - started) * (compression - 1));
  const deliveryMarks = new Set<string>();
  const deliveryLedger = {
    has: async (key: string) => deliveryMarks.has(key),
    mark: async (key: string) => void deliveryMarks.add(key),
  };
  const arrivedAt = new Map<string, number>();
  const latencies: number[] = [];
  const delivered: Alert[] = [];
  const counts = {
    routed: 0,
    duplicates: 0,
    targetsScheduled: 0,
    probeMessages: 0,
    probes: 0,
    changes: 0,
    tombstoneChecks: 0,
  };
  let routerCpuUs = 0;
  let probeWallMs = 0;
  const pending: Promise<void>[] = [];
  const context = {
    connectTo: (ip: string, port: number) => {
      const group =
        (Number(ip.split(".")[1]) - 100) * 65_536 + Number(ip.split(".")[2]) * 256 + Number(ip.split(".")[3]);
      return { host: "127.0.0.1", port: group < openGroups && port === 6379 ? redis.port : closedPort };
    },
  };
  const deliverer = {
    name: "bench",
    deliver: async (alert: Alert) => {
      delivered.push(alert);
    },
  };

  async function runProbe(probe: PlannedProbe): Promise<void> {
    const began = performance.now();
    counts.probeMessages++;
    counts.tombstoneChecks += probe.message.targets.length;
    const done = await probeFast(probe.message, { store, ledger, probe: { concurrency: 256 }, context });
    probeWallMs += performance.now() - began;
    counts.probes += done.probed;
    counts.changes += done.events.length;
    if (done.events.length === 0) return;
    const report = await deliverEventAlerts(done.events, [deliverer], deliveryLedger);
    const now = performance.now();
    for (const { alertId } of report.delivered) {
      const event = done.events.find((e) =>
        report.notifications.some((n) => n.id === alertId && n.endpoint === e.endpoint),
      );
      const arrival = arrivedAt.get(probe.message.eventId);
      if (event !== undefined && arrival !== undefined) latencies.push(now - arrival);
    }
  }

  const scheduler = {
    schedule: async (probes: readonly PlannedProbe[]) => {
      for (const probe of probes) {
        counts.targetsScheduled += probe.delaySeconds === 0 ? probe.message.targets.length : 0;
        pending.push(
          new Promise<void>((resolve, reject) => {
            setTimeout(() => runProbe(probe).then(resolve, reject), (probe.delaySeconds * 1000) / compression);
          }),
        );
      }
    },
  };

  process.stderr.write(
    `fastpath bench: ${events} events over ${hourSeconds} s (one hour compressed ${compression}x), ${groups} security groups, ${openGroups} open Redis addresses, ${apiLatencyMs} ms per AWS call\n`,
  );
  const routes: Promise<void>[] = [];
  for (let i = 0; i < events; i++) {
    const due = (i * hourSeconds * 1000) / events;
    const wait = due - (performance.now() - started);
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const event: BusEvent = cloudTrailEvent(
      "aws.ec2",
      "AuthorizeSecurityGroupIngress",
      { groupId: `sg-${i % groups}` },
      {},
      { id: `bench-${i}`, account: MEMBER },
    );
    arrivedAt.set(`bench-${i}`, performance.now());
    routes.push(
      (async () => {
        const cpu = cpuUsage();
        const outcome = await routeEvents([event], { resolver, ledger, scheduler });
        routerCpuUs += cpuUsage(cpu).user + cpuUsage(cpu).system;
        counts.routed += outcome.routed.length;
        counts.duplicates += outcome.duplicates.length;
      })(),
    );
  }
  await Promise.all(routes);
  await Promise.all(pending);
  const wallS = (performance.now() - started) / 1000;
  clients.destroy();
  await server.close();
  await lab.close();
  db.close?.();

  const sorted = [...latencies].sort((a, b) => a - b);
  const per100k = 100_000 / events;
  const P = FASTPATH_PRICES;
  // Requests per event and per probe message in AWS (docs/fastpath.md explains each line).
  const lines: Array<[string, number, number]> = [
    ["EventBridge: events delivered to the central bus (cross-account)", events, P.eventBridgeCrossAccountPerMillion],
    ["SQS router queue: send + receive/delete in batches of 10", events * 1.2, P.sqsPerMillion],
    [
      "SQS fast-probe queue: send (batches of 10) + receive + delete per message",
      counts.probeMessages * 2.1,
      P.sqsPerMillion,
    ],
    [
      "Lambda requests: router (batches of 10) + fast-probe (one per message)",
      events / 10 + counts.probeMessages,
      P.lambdaRequestPerMillion,
    ],
    [
      "DynamoDB writes: event claim + endpoint claims + changed records",
      events + counts.targetsScheduled + counts.changes * 2,
      P.dynamoWritePerMillion,
    ],
    [
      "DynamoDB reads: tombstones (BatchGet) + recorded exposures per probe",
      counts.tombstoneChecks * 2,
      P.dynamoReadPerMillion,
    ],
  ];
  const gbSeconds = (routerCpuUs / 1e6) * 0.5 + (probeWallMs / 1000) * 1.0;
  const rows = lines.map(([name, count, price]) => ({
    name,
    count: count * per100k,
    usd: ((count * per100k) / 1e6) * price,
  }));
  rows.push({
    name: "Lambda compute: router CPU x 0.5 GB + fast-probe wall x 1 GB (measured)",
    count: gbSeconds * per100k,
    usd: gbSeconds * per100k * P.lambdaGbSecond,
  });
  const total = rows.reduce((sum, row) => sum + row.usd, 0);

  const out = process.stdout;
  out.write(
    `events ${events}, routed ${counts.routed}, replays ${counts.duplicates}, targets scheduled ${counts.targetsScheduled}\n`,
  );
  out.write(
    `probe messages ${counts.probeMessages}, probes ${counts.probes}, recorded changes ${counts.changes}, alerts ${delivered.length} (open addresses ${openGroups})\n`,
  );
  out.write(`wall ${wallS.toFixed(1)} s\n`);
  out.write(
    `event-to-alert latency (ms): p50 ${percentile(sorted, 50).toFixed(0)}  p90 ${percentile(sorted, 90).toFixed(0)}  p99 ${percentile(sorted, 99).toFixed(0)}  max ${percentile(sorted, 100).toFixed(0)}  (n=${sorted.length})\n`,
  );
  out.write("cost per 100,000 events (us-east-1 list prices):\n");
  for (const row of rows)
    out.write(`  ${row.name.padEnd(80)} ${row.count.toFixed(0).padStart(12)}  $${row.usd.toFixed(4)}\n`);
  out.write(`  ${"total".padEnd(80)} ${"".padStart(12)}  $${total.toFixed(2)}\n`);
  const ok = delivered.length === openGroups && sorted.length === openGroups;
  if (!ok) process.stderr.write(`fastpath bench: expected ${openGroups} alerts, got ${delivered.length}\n`);
  return ok ? 0 : 1;
}
