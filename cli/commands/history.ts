// `exposure history TARGET`: an endpoint's state-change events, oldest first.
import { isIP } from "node:net";
import type { StateChangeEvent } from "../../shared/exposure/model.ts";
import { formatEndpoint } from "../../shared/exposure/model.ts";
import { parseTarget, TargetError } from "../../shared/probe/targets.ts";
import { allItems } from "../../shared/store/store.ts";
import { EXIT_OK, parseCommandArgs, UsageError } from "../args.ts";
import { formatTable } from "../output.ts";
import { openStore, STORE_HELP, STORE_OPTIONS } from "../store-args.ts";
import { timeOption } from "../time-args.ts";

const HELP = `usage: exposure history TARGET [options]

Prints the recorded state changes of TARGET, oldest first: host:port for one endpoint, or a bare IP
for every port of it.

options:
  --since TIME            only changes at or after TIME (ISO date/time, or a duration back from now: 30d, 12h)
  --until TIME            only changes before TIME
  --json                  one event object per line
${STORE_HELP}
  -h, --help              show this help`;

export function eventRow(event: StateChangeEvent): string[] {
  return [
    event.at,
    event.endpoint,
    event.previous ? `${event.previous.state} (${event.previous.exposure})` : "-",
    `${event.current.state} (${event.current.exposure})`,
    event.alerts.join(", "),
  ];
}

export const EVENT_COLUMNS = ["TIME", "ENDPOINT", "FROM", "TO", "ALERTS"];

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...STORE_OPTIONS,
    json: { type: "boolean" },
    since: { type: "string" },
    until: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError("history takes exactly one TARGET (host:port or IP); see --help");
  const spec = positionals[0] as string;
  const range = {
    ...(values.since !== undefined ? { from: timeOption("since", values.since) } : {}),
    ...(values.until !== undefined ? { to: timeOption("until", values.until) } : {}),
  };
  const bareIp = isIP(spec.replace(/^\[|\]$/g, "")) ? spec.replace(/^\[|\]$/g, "") : null;
  let endpoint: string | null = null;
  if (!bareIp) {
    try {
      const [target, ...more] = parseTarget(spec);
      if (!target || more.length > 0) throw new UsageError(`history takes one endpoint, not a block: "${spec}"`);
      endpoint = formatEndpoint(target.host, target.port);
    } catch (error) {
      if (error instanceof TargetError) throw new UsageError(error.message);
      throw error;
    }
  }

  const opened = await openStore(values);
  const events: StateChangeEvent[] = [];
  try {
    const endpoints = endpoint
      ? [endpoint]
      : (await opened.store.endpointsOfIp(bareIp as string)).map((state) => state.endpoint);
    for (const name of endpoints) {
      for await (const event of allItems((cursor) =>
        opened.store.history(name, { ...range, ...(cursor ? { cursor } : {}) }),
      )) {
        events.push(event);
      }
    }
  } finally {
    await opened.close();
  }
  events.sort((a, b) => a.at.localeCompare(b.at) || a.endpoint.localeCompare(b.endpoint));
  if (values.json) {
    for (const event of events) process.stdout.write(`${JSON.stringify(event)}\n`);
  } else if (events.length === 0) {
    process.stdout.write(`no recorded changes for ${spec}\n`);
  } else {
    process.stdout.write(`${formatTable(EVENT_COLUMNS, events.map(eventRow))}\n`);
  }
  return EXIT_OK;
}
