// What `exposure scan` and `exposure watch` share: options, target sources, one cycle with alerting.
import { mkdirSync } from "node:fs";
import { localAlerting } from "../shared/alerts/local.ts";
import { deliverRecordedEvents } from "../shared/alerts/notify.ts";
import { describeAcknowledgement } from "../shared/exposure/acknowledgement.ts";
import { exposureOf, type ProbeOutcome, type ProbeState, type Target } from "../shared/exposure/model.ts";
import type { InventoryConfig } from "../shared/inventory/config.ts";
import { type CycleResult, runScanCycle } from "../shared/scan/local-cycle.ts";
import { alertCell } from "./alert-cell.ts";
import { FAIL_ON_HELP, type FailOnLevel, failOnLevel, failsOn, UsageError } from "./args.ts";
import { INVENTORY_OPTIONS, type InventoryOptionValues, inventoryConfigFromOptions } from "./commands/inventory.ts";
import { formatTable, ProgressLine } from "./output.ts";
import {
  adaptiveSettings,
  loadExclusions,
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
  "fail-on": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export const MONITOR_HELP = `  TARGET... / --targets FILE   what to scan, or:
  --aws                   scan the AWS inventory; its scope options (--org, --accounts, --regions,
                          --include-tag, --ports, --role-name, --external-id, ...) as in exposure inventory --help
${STORE_HELP}
  --alert-webhook URL     also POST each alert there (Slack incoming-webhook compatible)
  --json                  JSON lines on stdout: scan prints one per target as it is probed (as probe --json),
                          then {scan, alerts} for the cycle; alerts then go to stderr as text
${FAIL_ON_HELP}
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
  /** --fail-on: the level at which a cycle ends the command with exit 3. */
  failOn?: FailOnLevel;
  /** Called with each target's outcome (scan --json prints one line per target). */
  onResult?: (outcome: ProbeOutcome) => void;
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
    const excluded = await loadExclusions(values);
    targetSource = async () => {
      const found = await awsTargets(config);
      return excluded ? { ...found, targets: found.targets.filter((target) => !excluded.excludes(target)) } : found;
    };
  } else {
    const scopeGiven = Object.keys(AWS_SCOPE_OPTIONS).find((name) => values[name as keyof MonitorValues] !== undefined);
    if (scopeGiven) throw new UsageError(`--${scopeGiven} goes with --aws`);
    const targets = await loadTargets(positionals, values.targets, port, values);
    targetSource = async () => ({ targets });
  }
  const failOn = failOnLevel(values["fail-on"]);
  return {
    probe,
    ...(failOn ? { failOn } : {}),
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

export interface CycleReport extends CycleResult {
  /** (alert, channel) deliveries made by this cycle, earlier cycles' leftovers included. */
  delivered: number;
  /** Deliveries still missing after this cycle (retried by the next one). */
  pendingDeliveries: number;
}

/**
 * One cycle: targets, then the cloud's cycle in one process (shared/scan/local-cycle.ts), then the notify
 * function's delivery of every event recorded since the delivery watermark (shared/alerts/notify.ts): to
 * the console, <store-dir>/alerts.jsonl and the webhook. Against a deployed table (--table) the cycle only
 * records: the deployed notify function delivers what the table's stream carries, so delivering here too
 * would send every alert twice.
 */
export async function monitorCycle(opened: OpenedStore, settings: MonitorSettings): Promise<CycleReport> {
  const { targets, coverage } = await settings.targetSource();
  // A progress line while the targets are probed, only for a person watching a terminal.
  const progress =
    !settings.json && process.stderr.isTTY && targets.length > 20 ? new ProgressLine(targets.length) : null;
  const cycle = await runScanCycle({
    store: opened.store,
    targets,
    probe: adaptiveSettings(settings.probe),
    ...(coverage ? { coverage } : {}),
    ...(opened.expiryRecorder ? { expiryRecorder: opened.expiryRecorder } : {}),
    onResult: (outcome) => {
      progress?.tick(outcome.exposure !== "none" && outcome.exposure !== null);
      settings.onResult?.(outcome);
    },
  });
  progress?.done();
  return { ...cycle, ...(await deliverLocally(opened, settings)) };
}

/**
 * The notify function's delivery of every event recorded since the delivery watermark, for a local store
 * (console, <store-dir>/alerts.jsonl, the webhook); nothing against a deployed table, whose notify delivers.
 * Shared by the cycle and `exposure react`.
 */
export async function deliverLocally(
  opened: OpenedStore,
  settings: Pick<MonitorSettings, "webhookUrl" | "json">,
): Promise<{ delivered: number; pendingDeliveries: number }> {
  if (opened.storeDir === null || opened.deliveryState === undefined) return { delivered: 0, pendingDeliveries: 0 };
  mkdirSync(opened.storeDir, { recursive: true });
  const alerting = localAlerting({
    storeDir: opened.storeDir,
    ...(settings.webhookUrl ? { webhookUrl: settings.webhookUrl } : {}),
    state: opened.deliveryState,
    // With --json, console alerts go to stderr so stdout stays parseable.
    out: settings.json ? process.stderr : process.stdout,
  });
  const delivery = await deliverRecordedEvents({ store: opened.store, ...alerting });
  for (const { alert, ack } of delivery.held) {
    process.stderr.write(`exposure: ${alert.kind} ${alert.endpoint} not paged: ${describeAcknowledgement(ack)}\n`);
  }
  for (const failure of delivery.failed) {
    process.stderr.write(
      `exposure: alert ${failure.alertId} not delivered to ${failure.deliverer} (retried next cycle): ${failure.error}\n`,
    );
  }
  return { delivered: delivery.delivered.length, pendingDeliveries: delivery.failed.length };
}

/** With `startedAt` (watch), the summary line starts with the cycle's start time. */
export function printCycle(report: CycleReport, json: boolean, startedAt?: Date): void {
  const { scan } = report;
  if (json) {
    process.stdout.write(`${JSON.stringify({ scan, alerts: report.alerts })}\n`);
    return;
  }
  const counts = Object.entries(scan.countsByState)
    .map(([state, count]) => `${count} ${state}`)
    .join(", ");
  const changes = [
    ...report.expiryEvents.map((event) => [
      event.endpoint,
      `acknowledgement expired, still ${event.current.state}`,
      alertCell(event),
    ]),
    ...report.events.map((event) => [
      event.endpoint,
      event.previous ? `${event.previous.state} -> ${event.current.state}` : `first seen: ${event.current.state}`,
      alertCell(event),
    ]),
  ];
  const stamp = startedAt ? `${startedAt.toISOString()} ` : "";
  process.stdout.write(
    `${stamp}scan ${scan.scanId}: ${scan.targets} targets (${counts || "none"}), ${plural(report.events.length, "change")}, ${plural(report.alerts.length, "alert")}\n`,
  );
  if (changes.length > 0) process.stdout.write(`${formatTable(["ENDPOINT", "CHANGE", "ALERT"], changes)}\n`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
/** Whether a cycle's observations reach the --fail-on level. */
export function cycleFails(report: CycleReport, settings: MonitorSettings): boolean {
  const observed = Object.entries(report.scan.countsByState)
    .filter(([, count]) => (count ?? 0) > 0)
    .map(([state]) => exposureOf(state as ProbeState));
  return failsOn(settings.failOn, observed);
}
