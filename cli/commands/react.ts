// `exposure react --event FILE`: the fast path's router from the command line (docs/fastpath.md): read one
// EventBridge event (CloudTrail or native), resolve it to targets in its account, and unless --dry-run probe
// them once now, record and alert like a scan. The re-probes at +30 s ... +10 min are the deployed router's.
import { readFile } from "node:fs/promises";
import { formatEndpoint, type Target } from "../../shared/exposure/model.ts";
import type { BusEvent } from "../../shared/fastpath/catalog.ts";
import { probeFast } from "../../shared/fastpath/fast-probe.ts";
import { MemoryFastPathLedger } from "../../shared/fastpath/ledger.ts";
import { FastPathResolver } from "../../shared/fastpath/resolve.ts";
import { type RouteOutcome, routeEvents } from "../../shared/fastpath/router.ts";
import type { PlannedProbe } from "../../shared/fastpath/schedule.ts";
import { createAwsClientFactory } from "../../shared/inventory/clients.ts";
import type { ProbeContext } from "../../shared/probe/probe.ts";
import { EXIT_OK, parseCommandArgs, UsageError } from "../args.ts";
import { deliverLocally } from "../monitor.ts";
import { formatTable } from "../output.ts";
import { adaptiveSettings, PROBE_HELP, PROBE_OPTIONS, probeSettings } from "../probe-args.ts";
import { type OpenedStore, openStore, STORE_HELP, STORE_OPTIONS } from "../store-args.ts";
import { INVENTORY_OPTIONS, type InventoryOptionValues, inventoryConfigFromOptions } from "./inventory.ts";

const { concurrency: _c, org: _o, "no-paths": _p, "owner-tags": _t, ...SCOPE_OPTIONS } = INVENTORY_OPTIONS;

const OPTIONS = {
  ...STORE_OPTIONS,
  ...PROBE_OPTIONS,
  ...SCOPE_OPTIONS,
  event: { type: "string" },
  "dry-run": { type: "boolean" },
  "alert-webhook": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const HELP = `usage: exposure react --event FILE [--dry-run] [--json] [options]

Reads one EventBridge event (an "AWS API Call via CloudTrail" event, or an EC2 instance / ECS task
state change) and resolves it, in the event's account and region, to the public endpoints the change may
have exposed: each printed with its owner, and every account, region or call that could not be read.
Without --dry-run it then probes them once, records the observations and alerts like exposure scan.
An event the fast path does not read (a failed or read-only call, another service) resolves to nothing.
Member accounts are entered through the read-only role (--role-name, --external-id), as exposure inventory.

options:
  --event FILE            the event, as EventBridge delivers it (JSON)
  --dry-run               resolve and print only: no probe, nothing recorded
  --json                  one JSON object on stdout
  --alert-webhook URL     also POST each alert there
  --accounts, --exclude-accounts, --regions, --exclude-regions, --include-tag, --exclude-tag, --ports,
  --role-name, --external-id, --call-timeout, --no-lightsail, --no-global-accelerator
                          the inventory's scope, as in exposure inventory --help
${STORE_HELP}
${PROBE_HELP}
  -h, --help              show this help`;

/** Event files are small: a CloudTrail record is at most 256 KB on the bus. */
const MAX_EVENT_BYTES = 1024 * 1024;

export async function readEventFile(path: string): Promise<BusEvent> {
  let text: string;
  try {
    const data = await readFile(path);
    if (data.length > MAX_EVENT_BYTES) throw new UsageError(`event file ${path} is over ${MAX_EVENT_BYTES} bytes`);
    text = data.toString("utf8");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read event file ${path}${code ? ` (${code})` : ""}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`event file ${path} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`event file ${path} does not hold one EventBridge event (a JSON object)`);
  }
  return value as BusEvent;
}

export interface ReactReport {
  outcome: RouteOutcome;
  probed: boolean;
  results: Array<{ endpoint: string; state: string; exposure: string }>;
  stopped: string[];
  changes: number;
  delivered: number;
}

/** The command's work, for `run` and for tests that point the probe at loopback stand-ins. */
export async function react(
  event: BusEvent,
  options: {
    resolver: Pick<FastPathResolver, "resolve">;
    opened: OpenedStore | null;
    probe: ReturnType<typeof adaptiveSettings>;
    context?: ProbeContext;
    webhookUrl?: string;
    json: boolean;
  },
): Promise<ReactReport> {
  const ledger = new MemoryFastPathLedger();
  const planned: PlannedProbe[] = [];
  const outcome = await routeEvents([event], {
    resolver: options.resolver,
    ledger,
    scheduler: { schedule: async (probes) => void planned.push(...probes) },
  });
  const report: ReactReport = { outcome, probed: false, results: [], stopped: [], changes: 0, delivered: 0 };
  if (options.opened === null) return report;
  // Once, now: the first step of the schedule.
  for (const probe of planned.filter((p) => p.delaySeconds === 0)) {
    const done = await probeFast(probe.message, {
      store: options.opened.store,
      ledger,
      probe: options.probe,
      ...(options.context ? { context: options.context } : {}),
    });
    report.probed = true;
    report.stopped.push(...done.stopped);
    report.changes += done.events.length;
    for (const result of done.results) {
      report.results.push({
        endpoint: formatEndpoint(result.ip, result.port),
        state: result.state,
        exposure: result.exposure,
      });
    }
  }
  report.delivered = (
    await deliverLocally(options.opened, {
      json: options.json,
      ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
    })
  ).delivered;
  return report;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, false);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError("react takes no positional arguments; see --help");
  if (values.event === undefined) throw new UsageError("--event FILE is required; see --help");
  const webhookUrl = values["alert-webhook"];
  if (webhookUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(webhookUrl)) {
    throw new UsageError(`--alert-webhook must be an http(s) URL, got "${webhookUrl}"`);
  }
  const config = inventoryConfigFromOptions(values as InventoryOptionValues);
  const { probe } = probeSettings(values);
  const event = await readEventFile(values.event);
  const json = values.json ?? false;

  const clients = createAwsClientFactory({ callTimeoutMs: config.callTimeoutMs });
  const dryRun = values["dry-run"] ?? false;
  const opened = dryRun ? null : await openStore(values);
  try {
    const report = await react(event, {
      resolver: new FastPathResolver(clients, config),
      opened,
      probe: adaptiveSettings(probe),
      json,
      ...(webhookUrl ? { webhookUrl } : {}),
    });
    print(report, json, dryRun);
  } finally {
    clients.destroy();
    await opened?.close();
  }
  return EXIT_OK;
}

function ownerRow(target: Target): string[] {
  const asset = target.asset;
  return [
    formatEndpoint(target.host, target.port),
    asset?.accountId ?? "",
    asset?.region ?? "",
    asset?.resourceType ?? "",
    asset?.resourceId ?? "",
    asset?.name ?? "",
  ];
}

function print(report: ReactReport, json: boolean, dryRun: boolean): void {
  const { outcome } = report;
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ ...outcome, dryRun, ...(dryRun ? {} : { probes: report.results, stopped: report.stopped, changes: report.changes, delivered: report.delivered }) })}\n`,
    );
    return;
  }
  for (const { eventId, reason } of outcome.irrelevant) {
    process.stdout.write(`event ${eventId || "(no id)"}: resolves to nothing (${reason})\n`);
  }
  for (const routed of outcome.routed) {
    process.stdout.write(
      `event ${routed.eventId} ${routed.name} in ${routed.accountId} ${routed.region}: ${routed.targets.length} target${routed.targets.length === 1 ? "" : "s"}\n`,
    );
    if (routed.stopped.length > 0) process.stdout.write(`stops pending probes of: ${routed.stopped.join(", ")}\n`);
    if (routed.targets.length > 0) {
      process.stdout.write(
        `${formatTable(["ENDPOINT", "ACCOUNT", "REGION", "TYPE", "RESOURCE", "NAME"], routed.targets.map(ownerRow))}\n`,
      );
    }
    for (const gap of routed.gaps) {
      process.stdout.write(
        `could not read ${[gap.accountId, gap.region].filter(Boolean).join(" ")} (${gap.source}): ${gap.error}\n`,
      );
    }
  }
  if (!dryRun && report.probed) {
    process.stdout.write(
      `${formatTable(
        ["ENDPOINT", "STATE", "EXPOSURE"],
        report.results.map((r) => [r.endpoint, r.state, r.exposure]),
      )}\n`,
    );
    process.stdout.write(
      `${report.changes} change${report.changes === 1 ? "" : "s"} recorded, ${report.delivered} alert deliveries\n`,
    );
  }
}
