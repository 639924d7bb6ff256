#!/usr/bin/env node
// The `exposure` command: a dispatcher. Each subcommand lives in cli/commands/<name>.ts and
// exports `run(argv): Promise<number>` (the exit code). Errors are printed on one line, never as a stack trace.
import { readFileSync } from "node:fs";
import { closestName } from "../shared/did-you-mean.ts";
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from "./args.ts";

const COMMANDS: Record<string, string> = {
  probe: "probe host[:port] or CIDR targets once and print what each one says",
  scan: "one monitoring cycle: probe, record changes in the store, alert",
  inventory: "every public IP of the AWS accounts in scope, with its owner and the coverage gaps",
  watch: "scan cycles every --interval until interrupted",
  history: "recorded state changes and exposure windows of an endpoint, IP, account or resource",
  exposed: "every endpoint reachable or unauthenticated now, most severe first",
  report: "the auditor's report for a period (html, md, csv, json) with a tamper-evident manifest",
  verify: "check a report against its manifest (SHA-256)",
  findings: "open findings now, as a table or as AWS Security Finding Format for Security Hub",
  ack: "accept a known exposure until a date, with a reason: recorded and shown, not paged",
  unack: "end an acknowledgement now",
  react: "resolve one AWS change event (CloudTrail or native) to endpoints and probe them now",
  demo: "the monitor end to end on a lab of real Redis servers on loopback (what `npm start` runs)",
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(width)}  ${text}`);
  return [
    "usage: exposure <command> [options]",
    "",
    "commands:",
    ...lines,
    "",
    "exposure <command> --help for a command's options; exposure --version for the version",
  ].join("\n");
}

/** The package's version: package.json is one directory up from both cli/exposure.ts and dist/exposure.js. */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    const near = closestName(name, Object.keys(COMMANDS));
    throw new UsageError(`unknown command "${name}"${near ? `: did you mean "${near}"?` : " (try: exposure --help)"}`);
  }
  const command = (await import(`./commands/${name}.ts`)) as { run(argv: string[]): Promise<number> };
  return command.run(rest);
}

// Run through npm (`npm run -s exposure -- ...`, `npm start`), the command starts in the package root;
// relative paths (--targets, --store-dir, --out, report files) mean where the user ran npm (INIT_CWD).
// Only for this package's own scripts: a test run by `npm test` that starts the command elsewhere keeps its cwd.
const NPM_SCRIPTS = new Set(["exposure", "start"]);
if (process.env.INIT_CWD && NPM_SCRIPTS.has(process.env.npm_lifecycle_event ?? "")) {
  try {
    process.chdir(process.env.INIT_CWD);
  } catch {
    // A directory that is gone: stay where npm put us.
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`exposure: ${message.split("\n")[0]}\n`);
    if (process.env.EXPOSURE_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  },
);
