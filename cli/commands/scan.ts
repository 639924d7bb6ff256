// `exposure scan`: one monitoring cycle: probe, record, alert.
import { EXIT_OK, parseCommandArgs } from "../args.ts";
import {
  MONITOR_HELP,
  MONITOR_OPTIONS,
  monitorCycle,
  monitorSettings,
  printCycle,
  recoverRecentAlerts,
} from "../monitor.ts";
import { openStore } from "../store-args.ts";

const HELP = `usage: exposure scan [options] [TARGET...]

One monitoring cycle: probes the targets, records every change in the store, and sends an alert
for each endpoint that newly became internet-facing or unauthenticated (console, <store-dir>/alerts.jsonl,
and --alert-webhook).

options:
${MONITOR_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, MONITOR_OPTIONS);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const settings = await monitorSettings(values, positionals);
  const opened = await openStore(values);
  try {
    await recoverRecentAlerts(opened, settings);
    printCycle(await monitorCycle(opened, settings), settings.json);
  } finally {
    await opened.close();
  }
  return EXIT_OK;
}
