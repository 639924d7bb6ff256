// `exposure watch --interval 15m`: scan cycles until interrupted. Ctrl-C ends cleanly after the
// current cycle, with the store closed.
import { durationMs, EXIT_EXPOSED, EXIT_OK, parseCommandArgs, UsageError } from "../args.ts";
import { cycleFails, MONITOR_HELP, MONITOR_OPTIONS, monitorCycle, monitorSettings, printCycle } from "../monitor.ts";
import { openStore } from "../store-args.ts";

const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_INTERVAL_TEXT = "24d (a timer holds at most 2^31-1 ms)";

const HELP = `usage: exposure watch [--interval 15m] [--cycles N] [options] [TARGET...]

Runs a scan cycle every interval until interrupted (Ctrl-C finishes the current cycle, then exits).
With --fail-on, the first cycle that finds an endpoint at that level ends the command with exit 3.

options:
  --interval DURATION     time between cycle starts, e.g. 30s, 15m, 1h (default 15m)
  --cycles N              stop after N cycles (default: run until interrupted)
${MONITOR_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...MONITOR_OPTIONS,
    interval: { type: "string" },
    cycles: { type: "string" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const intervalMs = durationMs("interval", values.interval ?? "15m");
  if (intervalMs < 1_000) throw new UsageError("--interval must be at least 1s");
  // A timer holds at most 2^31-1 ms (about 24.8 days); a longer one would fire at once, in a loop.
  if (intervalMs > MAX_TIMER_MS) throw new UsageError(`--interval must be at most ${MAX_INTERVAL_TEXT}`);
  const cycles = values.cycles === undefined ? Number.POSITIVE_INFINITY : Number(values.cycles);
  if (!Number.isInteger(cycles) && cycles !== Number.POSITIVE_INFINITY)
    throw new UsageError("--cycles must be a whole number");
  if (cycles < 1) throw new UsageError("--cycles must be at least 1");
  const settings = await monitorSettings(values, positionals);

  let stopping = false;
  let wakeUp: (() => void) | undefined;
  const stop = () => {
    if (stopping) process.exit(130); // a second Ctrl-C: leave now
    stopping = true;
    process.stderr.write("\nexposure: stopping after the current cycle (Ctrl-C again to leave now)\n");
    wakeUp?.();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  const opened = await openStore(values);
  let exposed = false;
  try {
    if (opened.storeDir === null) {
      process.stderr.write(`exposure: recording into ${opened.label} without delivering: its notify function does\n`);
    }
    for (let cycle = 1; cycle <= cycles && !stopping; cycle++) {
      const started = Date.now();
      const report = await monitorCycle(opened, settings);
      printCycle(report, settings.json, new Date(started));
      exposed = cycleFails(report, settings);
      if (exposed || cycle === cycles || stopping) break;
      const wait = Math.max(0, intervalMs - (Date.now() - started));
      await new Promise<void>((resolve) => {
        wakeUp = resolve;
        setTimeout(resolve, wait);
      });
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await opened.close();
  }
  return exposed ? EXIT_EXPOSED : EXIT_OK;
}
