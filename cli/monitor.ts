// What `exposure scan` and `exposure watch` share: options, target sources, one cycle with alerting.
import { mkdirSync } from "node:fs";
import { alertsFromEvent } from "../shared/alerts/alert.ts";
import { deliverThroughOutbox, deliveryKey } from "../shared/alerts/deliver.ts";
import { localAlerting } from "../shared/alerts/local.ts";
import type { Target } from "../shared/exposure/model.ts";
import type { InventoryConfig } from "../shared/inventory/config.ts";
import { type CycleResult, runScanCycle } from "../shared/scan/local-cycle.ts";
import { DEFAULT_STORE_DIR } from "../shared/store/local-store.ts";
import { allItems } from "../shared/store/store.ts";
import { UsageError } from "./args.ts";
import { INVENTORY_OPTIONS, type InventoryOptionValues, inventoryConfigFromOptions } from "./commands/inventory.ts";
import { formatTable } from "./output.ts";
import {
  adaptiveSettings,
  loadTargets,
  PROBE_HELP,
  PROBE_OPTIONS,
  type ProbeSettings,
  probeSettings,
} from "./probe-args.ts";
import { type OpenedStore, STORE_HELP, STORE_OPTIONS } from "./store-args.ts";

/** The inventory's scope options, for `--aws`; its --concurrency is the probe's here, so it is left out. */
const { concurrency: _inventoryConcurrency, ...AWS_SCOPE_OPTIONS } = INVENTORY_OPTIONS;

export const MONITOR_OPTIONS = {
  ...STORE_OPTIONS,
  ...PROBE_OPTIONS,
  ...AWS_SCOPE_OPTIONS,
  aws: { type: "boolean" },
  "alert-webhook": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export const MONITOR_HELP = `  TARGET... / --targets FILE   what to scan, or:
  --aws                   scan the AWS inventory; its scope options (--org, --accounts, --regions,
                          --include-tag, --ports, --role-name, --external-id, ...) as in exposure inventory --help
${STORE_HELP}
  --alert-webhook URL     also POST each alert there (Slack incoming-webhook compatible)
  --json                  machine-readable output on stdout (alerts then go to stderr as text)
${PROBE_HELP}
  -h, --help              show this help`;

type MonitorValues = {
  [K in keyof typeof MONITOR_OPTIONS]?: (typeof MONITOR_OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof MONITOR_OPTIONS)[K] extends { type: "boolean" }
      ? boolean
      : string;
};

export interface MonitorSettings {
  probe: Partial<ProbeSettings>;
  webhookUrl?: string;
  json: boolean;
  /** Produces the targets of one cycle (re-read each cycle, so an inventory stays current). */
  targetSource: () => Promise<{ targets: Target[]; coverage?: Parameters<typeof runScanCycle>[0]["coverage"] }>;
}

/** Validates every option before anything runs, so bad input probes nothing. */
export async function monitorSettings(values: MonitorValues, positionals: string[]): Promise<MonitorSettings> {
  const { port, probe } = probeSettings(values);
  const webhookUrl = values["alert-webhook"];
  if (webhookUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(webhookUrl)) {
    throw new UsageError(`--alert-webhook must be an http(s) URL, got "${webhookUrl}"`);
  }
  let targetSource: MonitorSettings["targetSource"];
  if (values.aws) {
    if (positionals.length > 0 || values.targets !== undefined) {
      throw new UsageError("--aws and explicit targets cannot be combined");
    }
    const config = inventoryConfigFromOptions({ ...values, concurrency: undefined } as InventoryOptionValues);
    targetSource = async () => awsTargets(config);
  } else {
    const scopeGiven = Object.keys(AWS_SCOPE_OPTIONS).find((name) => values[name as keyof MonitorValues] !== undefined);
    if (scopeGiven) throw new UsageError(`--${scopeGiven} goes with --aws`);
    const targets = await loadTargets(positionals, values.targets, port);
    targetSource = async () => ({ targets });
  }
  return {
    probe,
    ...(webhookUrl ? { webhookUrl } : {}),
    json: values.json ?? false,
    targetSource,
  };
}

/** The AWS inventory as a target source (shared/inventory), with its coverage for the scan record. */
async function awsTargets(config: InventoryConfig): Promise<Awaited<ReturnType<MonitorSettings["targetSource"]>>> {
  const { readAwsTargets } = await import("../shared/inventory/index.ts");
  const { targets, summary } = await readAwsTargets(config);
  return {
    targets,
    coverage: { accountsRead: summary.accountsRead, regionsRead: summary.regionsRead, gaps: summary.gaps },
  };
}

/**
 * The laptop's alert channels and delivery state: in the local store (with a deployed table: files under
 * the default local store directory). With --json, console alerts go to stderr so stdout stays parseable.
 */
function alertingOf(opened: OpenedStore, settings: MonitorSettings): ReturnType<typeof localAlerting> {
  const storeDir = opened.storeDir ?? DEFAULT_STORE_DIR;
  mkdirSync(storeDir, { recursive: true });
  return localAlerting({
    storeDir,
    ...(settings.webhookUrl ? { webhookUrl: settings.webhookUrl } : {}),
    ...(opened.deliveryState ? { state: opened.deliveryState } : {}),
    out: settings.json ? process.stderr : process.stdout,
  });
}

export interface CycleReport extends CycleResult {
  delivered: number;
  pendingDeliveries: number;
}

/** One cycle: targets, probe, record, alert. Alerts go to the console, <store-dir>/alerts.jsonl and the webhook. */
export async function monitorCycle(opened: OpenedStore, settings: MonitorSettings): Promise<CycleReport> {
  const { targets, coverage } = await settings.targetSource();
  const alerting = alertingOf(opened, settings);
  const cycle = await runScanCycle({
    store: opened.store,
    targets,
    probe: adaptiveSettings(settings.probe),
    ...(coverage ? { coverage } : {}),
  });
  const delivery = await deliverThroughOutbox(cycle.alerts, alerting.deliverers, {
    ledger: alerting.outbox,
    outbox: alerting.outbox,
  });
  for (const failure of delivery.failed) {
    process.stderr.write(
      `exposure: alert ${failure.alertId} not delivered to ${failure.deliverer} (kept, retried next cycle): ${failure.error}\n`,
    );
  }
  return { ...cycle, delivered: delivery.delivered.length, pendingDeliveries: delivery.pending };
}

/** Puts the alerts of recent events back in the outbox: a crash between recording and delivery loses nothing. */
export async function recoverRecentAlerts(
  opened: OpenedStore,
  settings: MonitorSettings,
  sinceMs = 24 * 3_600_000,
): Promise<void> {
  const { outbox, deliverers } = alertingOf(opened, settings);
  const now = Date.now();
  const range = { from: new Date(now - sinceMs).toISOString(), to: new Date(now + 60_000).toISOString() };
  // Alerts some channel's ledger entry is missing for go back in the outbox (it ignores ids it holds);
  // delivery then skips the channels that already have them.
  const undelivered = [];
  for await (const event of allItems((cursor) => opened.store.eventsBetween(range, cursor ? { cursor } : {}))) {
    for (const alert of alertsFromEvent(event)) {
      for (const channel of deliverers) {
        if (!(await outbox.has(deliveryKey(alert.id, channel.name)))) {
          undelivered.push(alert);
          break;
        }
      }
    }
  }
  await outbox.add(undelivered);
}

export function printCycle(report: CycleReport, json: boolean): void {
  const { scan } = report;
  if (json) {
    process.stdout.write(`${JSON.stringify({ scan, alerts: report.alerts })}\n`);
    return;
  }
  const counts = Object.entries(scan.countsByState)
    .map(([state, count]) => `${count} ${state}`)
    .join(", ");
  const changes = report.events.map((event) => [
    event.endpoint,
    event.previous ? `${event.previous.state} -> ${event.current.state}` : `first seen: ${event.current.state}`,
    event.alerts.join(", "),
  ]);
  process.stdout.write(
    `scan ${scan.scanId}: ${scan.targets} targets (${counts || "none"}), ${plural(report.events.length, "change")}, ${plural(report.alerts.length, "alert")}\n`,
  );
  if (changes.length > 0) process.stdout.write(`${formatTable(["ENDPOINT", "CHANGE", "ALERTS"], changes)}\n`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
