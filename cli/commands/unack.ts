// `exposure unack TARGET [--by NAME]`: ends the endpoint's acknowledgement now; its changes page again.
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs } from "../args.ts";
import { openStore, STORE_HELP, STORE_OPTIONS } from "../store-args.ts";
import { defaultAuthor, endpointArgument } from "./ack.ts";

const HELP = `usage: exposure unack TARGET [--by NAME] [options]

Ends the acknowledgement of TARGET (host:port) now: its next changes page again. The acknowledgement
stays on record (with who ended it and when) for the report.

options:
  --by NAME               who ends it (default: the user name)
${STORE_HELP}
  -h, --help              show this help`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...STORE_OPTIONS,
    by: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const endpoint = endpointArgument("unack", positionals);
  const by = values.by?.trim() || defaultAuthor();
  const opened = await openStore(values, { access: "read" });
  let revoked: Awaited<ReturnType<typeof opened.store.revokeAcknowledgements>>;
  try {
    revoked = await opened.store.revokeAcknowledgements(endpoint, new Date().toISOString(), by);
  } finally {
    await opened.close();
  }
  if (revoked.length === 0) {
    process.stderr.write(`exposure: ${endpoint} has no acknowledgement in force\n`);
    return EXIT_FAILURE;
  }
  process.stdout.write(`${endpoint}: acknowledgement by ${revoked[0]!.author} ended by ${by}\n`);
  return EXIT_OK;
}
