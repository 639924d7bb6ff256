// `exposure exposed`: every endpoint whose current exposure is not `none`, most severe first, with the
// path from the internet the inventory resolved; `--latent`: open paths where nothing answers.

import { type Acknowledgement, activeAcknowledgement } from "../../shared/exposure/acknowledgement.ts";
import { pathCell } from "../../shared/inventory/path/text.ts";
import { oneLine } from "../../shared/printable.ts";
import { exposureLevelSince } from "../../shared/report/current.ts";
import { loadLatentExposures } from "../../shared/report/latent.ts";
import type { EndpointState } from "../../shared/store/store.ts";
import { allItems } from "../../shared/store/store.ts";
import { EXIT_EXPOSED, EXIT_OK, FAIL_ON_HELP, failOnLevel, failsOn, parseCommandArgs, UsageError } from "../args.ts";
import { formatTable } from "../output.ts";
import { openStore, STORE_HELP, STORE_OPTIONS } from "../store-args.ts";

const HELP = `usage: exposure exposed [options]

Lists every endpoint that is reachable or unauthenticated now, unauthenticated first, with since when
and, for addresses from the AWS inventory, the path from the internet (the rule that opens it, or the
layer that should have stopped it: a path anomaly).

options:
  --latent                list latent exposures instead: the configuration opens the port to the whole
                          internet but nothing answered (recorded, never paged); owners from the accounts
                          the last 31 days of scans read, or --accounts
  --accounts IDS          with --latent: these accounts (comma-separated)
  --json                  one endpoint object per line
${FAIL_ON_HELP}
${STORE_HELP}
  -h, --help              show this help`;

function owner(state: EndpointState): string {
  const asset = state.asset;
  if (!asset) return "";
  const owners = Object.entries(asset.owners ?? {}).map(([key, value]) => `${key}=${value}`);
  return [asset.accountId, asset.region, asset.name ?? asset.resourceId, ...owners].filter(Boolean).join(" ");
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...STORE_OPTIONS,
    json: { type: "boolean" },
    "fail-on": { type: "string" },
    latent: { type: "boolean" },
    accounts: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`exposed takes no arguments, got "${positionals[0]}"`);
  if (values.accounts !== undefined && !values.latent) throw new UsageError("--accounts goes with --latent");
  const accounts = values.accounts?.split(",").map((id) => id.trim());
  for (const id of accounts ?? []) {
    if (!/^\d{12}$/.test(id)) throw new UsageError(`--accounts: "${id}" is not a 12-digit AWS account id`);
  }
  if (values.latent) {
    if (values["fail-on"] !== undefined) throw new UsageError("--fail-on does not go with --latent");
    return runLatent(values, accounts, values.json === true);
  }
  const failOn = failOnLevel(values["fail-on"]);
  const opened = await openStore(values, { access: "read" });
  const exposed: EndpointState[] = [];
  const levelSince = new Map<string, string>();
  let acks: Acknowledgement[] = [];
  try {
    for await (const state of allItems((cursor) => opened.store.listExposed(cursor ? { cursor } : {})))
      exposed.push(state);
    for (const state of exposed) levelSince.set(state.endpoint, await exposureLevelSince(opened.store, state));
    if (exposed.length > 0) acks = await opened.store.listAcknowledgements();
  } finally {
    await opened.close();
  }
  const exposures = exposed.map((state) => state.exposure);
  const code = failsOn(failOn, exposures) ? EXIT_EXPOSED : EXIT_OK;
  const now = new Date().toISOString();
  const acknowledged = new Map(
    exposed.flatMap((state) => {
      const ack = activeAcknowledgement(acks, state.endpoint, now);
      return ack ? [[state.endpoint, ack] as const] : [];
    }),
  );
  if (values.json) {
    for (const state of exposed) {
      const ack = acknowledged.get(state.endpoint);
      process.stdout.write(`${JSON.stringify(ack ? { ...state, acknowledgement: ack } : state)}\n`);
    }
    return code;
  }
  if (exposed.length === 0) {
    process.stdout.write("nothing exposed\n");
    return code;
  }
  process.stdout.write(`${exposedTable(exposed, levelSince, acknowledged)}\n`);
  return code;
}

async function runLatent(
  values: Parameters<typeof openStore>[0],
  accounts: string[] | undefined,
  json: boolean,
): Promise<number> {
  const opened = await openStore(values, { access: "read" });
  let latent: EndpointState[];
  try {
    latent = await loadLatentExposures(opened.store, { now: new Date(), ...(accounts ? { accounts } : {}) });
  } finally {
    await opened.close();
  }
  if (json) {
    for (const state of latent) process.stdout.write(`${JSON.stringify(state)}\n`);
    return EXIT_OK;
  }
  if (latent.length === 0) {
    process.stdout.write("no latent exposures\n");
    return EXIT_OK;
  }
  process.stdout.write(`${latentTable(latent)}\n`);
  return EXIT_OK;
}

/** Open paths where nothing answers: what the configuration allows, and who owns it. */
export function latentTable(latent: EndpointState[]): string {
  const rows = latent.map((state) => [
    state.endpoint,
    state.state,
    state.lastObservedAt,
    pathCell(state.asset?.path),
    owner(state),
  ]);
  return formatTable(["ENDPOINT", "STATE", "OBSERVED", "PATH", "OWNER"], rows);
}

/** SINCE is when the current level began (from `levelSince` when given; the record's `since` moves on any change). */
export function exposedTable(
  exposed: EndpointState[],
  levelSince?: ReadonlyMap<string, string>,
  acknowledged?: ReadonlyMap<string, Acknowledgement>,
): string {
  const rows = exposed.map((state) => [
    state.endpoint,
    state.exposure,
    state.state,
    levelSince?.get(state.endpoint) ?? state.since,
    state.findings.length > 0
      ? `${state.findings.length} (${state.findings.filter((f) => f.severity === "critical").length} critical)`
      : "",
    pathCell(state.asset?.path),
    owner(state),
    ...(acknowledged && acknowledged.size > 0 ? [ackCell(acknowledged.get(state.endpoint))] : []),
  ]);
  const ackColumn = acknowledged && acknowledged.size > 0 ? ["ACKNOWLEDGED"] : [];
  return formatTable(["ENDPOINT", "EXPOSURE", "STATE", "SINCE", "FINDINGS", "PATH", "OWNER", ...ackColumn], rows);
}

function ackCell(ack: Acknowledgement | undefined): string {
  return ack ? `until ${ack.until} by ${oneLine(ack.author)}: ${oneLine(ack.reason)}` : "";
}
