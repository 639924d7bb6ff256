// `npm run deploy`: the whole deployment in one command (docs/readme-deploy.md). Checks the context
// (cdk.json, cdk.context.json, `-c key=value`) before anything touches AWS, bootstraps the account and
// region for CDK (a no-op when already done), then deploys the ExposureMonitor stack, which creates the
// member-role StackSet for the organization, and the ExposureMonitorFastPath stack beside it (docs/fastpath.md),
// which creates the event-forwarding StackSet. Bad context: one line, exit 2.
//   npm run deploy -- [-c key=value ...] [--dry-run] [--no-bootstrap] [other `cdk deploy` options]
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { App } from "aws-cdk-lib";
import { ConfigError, type MonitorConfig, monitorConfigFromContext } from "./config.ts";
import { FAST_PATH_STACK_NAME, MONITOR_STACK_NAME } from "./monitor-app.ts";

/** What `npm run deploy` deploys, in order (the fast path uses the monitor's table and operations topic). */
export const DEPLOYED_STACKS = [MONITOR_STACK_NAME, FAST_PATH_STACK_NAME] as const;

const ROOT = fileURLToPath(new URL("../", import.meta.url));

export interface DeployPlan {
  config: MonitorConfig;
  /** Each command, as argv (the first word is `cdk`). */
  commands: string[][];
}

export class DeployError extends Error {
  override name = "DeployError";
}

/** The context CDK will see: cdk.json's, then cdk.context.json's, then the command line's. */
export function deployContext(root: string, cliContext: Record<string, string>): Record<string, unknown> {
  const read = (file: string, pick: (json: Record<string, unknown>) => unknown): Record<string, unknown> => {
    if (!existsSync(file)) return {};
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch (error) {
      throw new DeployError(`${file} is not valid JSON: ${(error as Error).message.split("\n")[0]}`);
    }
    return (pick(json) ?? {}) as Record<string, unknown>;
  };
  return {
    ...read(`${root}cdk.json`, (json) => json.context),
    ...read(`${root}cdk.context.json`, (json) => json),
    ...cliContext,
  };
}

/** Parses the arguments, checks the context and returns what to run; throws DeployError or ConfigError. */
export function deployPlan(argv: readonly string[], root = ROOT): DeployPlan & { dryRun: boolean } {
  const cliContext: Record<string, string> = {};
  const contextArgs: string[] = [];
  const passThrough: string[] = [];
  let dryRun = false;
  let bootstrap = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--dry-run") dryRun = true;
    else if (arg === "--no-bootstrap") bootstrap = false;
    else if (arg === "-c" || arg === "--context" || arg.startsWith("--context=")) {
      const pair = arg.startsWith("--context=") ? arg.slice("--context=".length) : argv[++i];
      const eq = pair?.indexOf("=") ?? -1;
      if (pair === undefined || eq <= 0) throw new DeployError(`${arg} needs key=value, got "${pair ?? ""}"`);
      cliContext[pair.slice(0, eq)] = pair.slice(eq + 1);
      contextArgs.push("-c", pair);
    } else passThrough.push(arg);
  }
  const config = monitorConfigFromContext(new App({ context: deployContext(root, cliContext) }).node);
  if (config.memberOrganizationalUnitIds.length === 0 && config.accounts !== "current") {
    throw new DeployError(
      "context memberOrganizationalUnitIds is needed to deploy the member role to the organization (the root r-... or OU ids), or set accounts=current",
    );
  }
  const commands = [
    ...(bootstrap ? [["cdk", "bootstrap", ...contextArgs]] : []),
    ["cdk", "deploy", ...DEPLOYED_STACKS, ...contextArgs, ...passThrough],
  ];
  return { config, commands, dryRun };
}

function main(argv: string[]): number {
  let plan: ReturnType<typeof deployPlan>;
  try {
    plan = deployPlan(argv);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof DeployError)) throw error;
    process.stderr.write(`npm run deploy: ${error.message}\n`);
    return 2;
  }
  const targets = plan.config.memberOrganizationalUnitIds;
  process.stderr.write(
    `deploying ${DEPLOYED_STACKS.join(" and ")}${targets.length > 0 ? `, with the member-role and event-forwarding StackSets to ${targets.join(", ")} (${plan.config.stackSetCallAs})` : " (accounts=current: no StackSets)"}\n`,
  );
  for (const command of plan.commands) {
    process.stderr.write(`$ ${command.join(" ")}\n`);
    if (plan.dryRun) continue;
    const [cdk, ...args] = command;
    const result = spawnSync(`${ROOT}node_modules/.bin/${cdk}`, args, { cwd: ROOT, stdio: "inherit" });
    if (result.error) {
      process.stderr.write(`npm run deploy: cannot run ${cdk}: ${result.error.message}\n`);
      return 1;
    }
    if (result.status !== 0) return result.status ?? 1;
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
