// `exposure scan`: one monitoring cycle: probe, record, alert.
import { EXIT_EXPOSED, EXIT_OK, parseCommandArgs } from "../args.ts";
import { cycleFails, MONITOR_HELP, MONITOR_OPTIONS, monitorCycle, monitorSettings, printCycle } from "../monitor.ts";
import { LineWriter } from "../output.ts";
import { openStore } from "../store-args.ts";

const HELP = `usage: exposure scan [options] [TARGET...]

One monitoring cycle: probes the targets, records every change in the store, and sends an alert
for each endpoint that newly became internet-facing or unauthenticated (console, <store-dir>/alerts.jsonl,
and --alert-webhook). With --table (a deployed table) it records only: the deployed notify function
delivers the alerts.

options:
${MONITOR_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, MONITOR_OPTIONS);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const settings = await monitorSettings(values, positionals);
  // --json: one object per target as it is probed (the probe's own JSON line, written in chunks as by
  // probe --json), then the cycle's record.
  const json = settings.json ? new LineWriter() : null;
  if (json) settings.onResult = (outcome) => json.line(JSON.stringify(outcome));
  const opened = await openStore(values);
  let exposed = false;
  try {
    if (opened.storeDir === null) {
      process.stderr.write(`exposure: recording into ${opened.label} without delivering: its notify function does\n`);
    }
    const report = await monitorCycle(opened, settings);
    json?.flush();
    printCycle(report, settings.json);
    exposed = cycleFails(report, settings);
  } finally {
    json?.flush();
    await opened.close();
  }
  return exposed ? EXIT_EXPOSED : EXIT_OK;
}
