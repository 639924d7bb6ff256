// `exposure demo` (what `npm start` runs): the monitor end to end on a lab of real Redis servers on
// loopback. Five cycles: a baseline, a server that loses its password (one alert, not repeated),
// a server that is stopped (resolved after two cycles), then the history and what is exposed now.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteDeliveryState } from "../../shared/alerts/ledger-sqlite.ts";
import { AddressSet } from "../../shared/net/ip.ts";
import { openLocalStore } from "../../shared/store/local-store.ts";
import { allItems } from "../../shared/store/store.ts";
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs } from "../args.ts";
import { findRedisServer, freePort, LocalLab, labCommands } from "../local-lab.ts";
import { type MonitorSettings, monitorCycle, printCycle } from "../monitor.ts";
import { formatTable } from "../output.ts";
import { exposedTable } from "./exposed.ts";
import { EVENT_COLUMNS, eventRow } from "./history.ts";

const HELP = `usage: exposure demo

Starts three real redis-server processes on 127.0.0.1 (Debian's redis-server package) and runs the
monitor against them for five cycles while one loses its password and another is stopped. Nothing
outside this machine's loopback is touched; the servers and the store are removed at the end.

To monitor your own servers instead:
  npm run -s exposure -- scan 203.0.113.10 198.51.100.0/24:6380     one cycle
  npm run -s exposure -- watch --interval 15m --targets fleet.txt   every 15 minutes`;

const say = (text: string) => process.stdout.write(`\n== ${text}\n`);

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { help: { type: "boolean", short: "h" } }, false);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const binary = findRedisServer();
  if (!binary) {
    process.stderr.write(
      "exposure: the demo needs redis-server (Debian: apt-get install redis-server); see: npm run -s exposure -- --help\n",
    );
    return EXIT_FAILURE;
  }

  const storeDir = mkdtempSync(join(tmpdir(), "exposure-demo-store-"));
  const lab = new LocalLab(binary);
  let local: Awaited<ReturnType<typeof openLocalStore>> | null = null;
  try {
    say("A lab on loopback: three real Redis servers, each with a password, and one closed port");
    const orders = await lab.add("orders-cache", "orders-pw");
    const sessions = await lab.add("sessions", "sessions-pw");
    await lab.add("job-queue", "queue-pw");
    const closedPort = await freePort();
    for (const server of lab.servers) process.stdout.write(`  ${server.name.padEnd(13)} 127.0.0.1:${server.port}\n`);
    process.stdout.write(`  ${"(closed)".padEnd(13)} 127.0.0.1:${closedPort}\n`);
    process.stdout.write("The embedded store: SQLite in this process, in memory for the demo (listens on no port)\n");
    local = await openLocalStore({ storeDir, inMemory: true });
    const { store } = local;
    const opened = {
      store,
      label: "demo store",
      storeDir,
      deliveryState: new SqliteDeliveryState(local.db),
      close: async () => {},
    };
    const targets = [
      ...lab.servers.map((server) => ({ host: "127.0.0.1", port: server.port })),
      { host: "127.0.0.1", port: closedPort },
    ];
    const settings: MonitorSettings = {
      probe: {
        concurrency: 16,
        connectTimeoutMs: 1_000,
        deadlineMs: 3_000,
        replyTimeoutMs: 1_000,
        allowedMasters: new AddressSet(),
      },
      json: false,
      targetSource: async () => ({ targets }),
    };
    const cycle = async (title: string) => {
      say(title);
      printCycle(await monitorCycle(opened, settings), false);
    };

    await cycle("Cycle 1: first sighting: each reachable endpoint is new and alerts once");
    await labCommands(sessions.port, [
      ["AUTH", "sessions-pw"],
      ["CONFIG", "SET", "requirepass", ""],
    ]);
    await cycle(`Cycle 2: someone removed the password of "sessions" (127.0.0.1:${sessions.port})`);
    await cycle("Cycle 3: nothing changed, so nothing alerts again");
    await orders.stop();
    await cycle(
      `Cycle 4: "orders-cache" (127.0.0.1:${orders.port}) was stopped; one closed observation does not resolve it`,
    );
    await cycle("Cycle 5: closed twice in a row: resolved");

    say(`History of "sessions" (exposure history 127.0.0.1:${sessions.port})`);
    const events = [];
    for await (const event of allItems((cursor) =>
      store.history(`127.0.0.1:${sessions.port}`, cursor ? { cursor } : {}),
    )) {
      events.push(event);
    }
    process.stdout.write(`${formatTable(EVENT_COLUMNS, events.map(eventRow))}\n`);
    say("Exposed now (exposure exposed)");
    const exposed = [];
    for await (const state of allItems((cursor) => store.listExposed(cursor ? { cursor } : {}))) exposed.push(state);
    process.stdout.write(`${exposedTable(exposed)}\n`);
    say("Done");
    process.stdout.write(
      [
        "Every alert above also went to alerts.jsonl in the store directory (here a temporary one, now removed).",
        "Monitor your own servers:",
        "  npm run -s exposure -- scan TARGET...                          one cycle, history kept in .exposure/",
        "  npm run -s exposure -- watch --interval 15m --targets FILE      every 15 minutes until Ctrl-C",
        "",
      ].join("\n"),
    );
  } finally {
    await local?.close();
    await lab.close();
    rmSync(storeDir, { recursive: true, force: true });
  }
  return EXIT_OK;
}
