// `exposure history TARGET`: an endpoint's state-change events, oldest first, and its exposure windows.

import { isIP } from "node:net";
import {
  type Acknowledgement,
  acknowledgementsOverlapping,
  activeAcknowledgement,
} from "../../shared/exposure/acknowledgement.ts";
import type { StateChangeEvent } from "../../shared/exposure/model.ts";
import { formatEndpoint } from "../../shared/exposure/model.ts";
import { pathCell } from "../../shared/inventory/path/text.ts";
import { oneLine } from "../../shared/printable.ts";
import { parseTarget, TargetError } from "../../shared/probe/targets.ts";
import { type HistorySubject, queryHistory } from "../../shared/report/queries.ts";
import { formatDuration } from "../../shared/report/time.ts";
import { alertCell } from "../alert-cell.ts";
import { EXIT_OK, parseCommandArgs, UsageError } from "../args.ts";
import { formatTable } from "../output.ts";
import { openStore, STORE_HELP, STORE_OPTIONS } from "../store-args.ts";
import { timeOption } from "../time-args.ts";

const HELP = `usage: exposure history [TARGET] [--account ID] [--resource ID] [options]

Prints the recorded state changes, oldest first, then each exposure window in the range with how
long it lasted: of TARGET (host:port for one endpoint, or a bare IP for every port of it), of the
endpoints an AWS account (or one resource of it) owns, or, with only --since, of everything.

options:
  --account ID            the endpoints owned by this AWS account now (with --resource: one resource of it)
  --resource ID           the endpoints of one resource (i-..., eni-..., eipalloc-...); alone it needs --since
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
    alertCell(event),
    pathCell(event.asset?.path ?? undefined),
  ];
}

export const EVENT_COLUMNS = ["TIME", "ENDPOINT", "FROM", "TO", "ALERT", "PATH"];

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...STORE_OPTIONS,
    json: { type: "boolean" },
    since: { type: "string" },
    until: { type: "string" },
    account: { type: "string" },
    resource: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const hasOwner = values.account !== undefined || values.resource !== undefined;
  if (
    positionals.length > 1 ||
    (positionals.length === 1 && hasOwner) ||
    (positionals.length === 0 && !hasOwner && values.since === undefined)
  ) {
    throw new UsageError(
      "history takes exactly one TARGET (host:port or IP), or --account/--resource, or --since alone; see --help",
    );
  }
  if (values.account !== undefined && !/^\d{12}$/.test(values.account))
    throw new UsageError(`--account must be a 12-digit AWS account id, got "${values.account}"`);
  if (values.resource !== undefined && values.account === undefined && values.since === undefined) {
    throw new UsageError("--resource without --account needs --since (it reads the range's changes)");
  }
  const now = new Date();
  const range = {
    ...(values.since !== undefined ? { from: timeOption("since", values.since, now) } : {}),
    ...(values.until !== undefined ? { to: timeOption("until", values.until, now) } : {}),
  };
  const spec = positionals[0] ?? ([values.account, values.resource].filter(Boolean).join(" ") || "the range");
  let subject: HistorySubject;
  if (values.account !== undefined) {
    subject = {
      kind: "owner",
      accountId: values.account,
      ...(values.resource !== undefined ? { resourceId: values.resource } : {}),
    };
  } else if (values.resource !== undefined) {
    subject = { kind: "resource", resourceId: values.resource };
  } else if (positionals.length === 0) {
    subject = { kind: "all" };
  } else {
    const bareIp = isIP(spec.replace(/^\[|\]$/g, "")) ? spec.replace(/^\[|\]$/g, "") : null;
    if (bareIp) subject = { kind: "ip", ip: bareIp };
    else {
      try {
        const [target, ...more] = parseTarget(spec);
        if (!target || more.length > 0) throw new UsageError(`history takes one endpoint, not a block: "${spec}"`);
        subject = { kind: "endpoint", endpoint: formatEndpoint(target.host, target.port) };
      } catch (error) {
        if (error instanceof TargetError) throw new UsageError(error.message);
        throw error;
      }
    }
  }

  const opened = await openStore(values, { access: "read" });
  let result: Awaited<ReturnType<typeof queryHistory>>;
  let acks: Acknowledgement[] = [];
  try {
    result = await queryHistory(opened.store, subject, range, now);
    const endpoints = new Set([...result.events.map((e) => e.endpoint), ...result.windows.map((w) => w.endpoint)]);
    if (subject.kind === "endpoint") endpoints.add(subject.endpoint);
    if (endpoints.size > 0) {
      acks = acknowledgementsOverlapping(
        await opened.store.listAcknowledgements(),
        range.from ?? "0000",
        range.to ?? "9999",
      ).filter((ack) => endpoints.has(ack.endpoint));
    }
  } finally {
    await opened.close();
  }
  const { events, windows } = result;
  events.sort((a, b) => a.at.localeCompare(b.at) || a.endpoint.localeCompare(b.endpoint));
  if (values.json) {
    for (const event of events) {
      const ack = activeAcknowledgement(acks, event.endpoint, event.at);
      process.stdout.write(`${JSON.stringify(ack ? { ...event, acknowledgement: ack } : event)}\n`);
    }
  } else if (events.length === 0) {
    process.stdout.write(`no recorded changes for ${spec}\n`);
  } else {
    process.stdout.write(`${formatTable(EVENT_COLUMNS, events.map(eventRow))}\n`);
  }
  if (!values.json && windows.length > 0) {
    const rows = windows.map((w) => [
      w.endpoint,
      w.level,
      w.start,
      w.end ?? "open",
      formatDuration(w.durationInPeriodMs),
      w.owner ? `${w.owner.accountId} ${w.owner.resourceId}` : "",
    ]);
    process.stdout.write(
      `\nexposure windows in the range:\n${formatTable(["ENDPOINT", "LEVEL", "START", "END", "DURATION IN RANGE", "OWNER"], rows)}\n`,
    );
  }
  if (!values.json && acks.length > 0) {
    const rows = acks.map((ack) => [
      ack.endpoint,
      ack.createdAt,
      ack.until,
      ack.revokedAt ? `${ack.revokedAt} by ${oneLine(ack.revokedBy ?? "")}` : "",
      oneLine(ack.author),
      oneLine(ack.reason),
    ]);
    process.stdout.write(
      `\nacknowledgements in the range (changes while one is in force page no one):\n${formatTable(["ENDPOINT", "FROM", "UNTIL", "ENDED", "BY", "REASON"], rows)}\n`,
    );
  }
  return EXIT_OK;
}
