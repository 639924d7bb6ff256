// `exposure verify REPORT MANIFEST`: recomputes the report's SHA-256 and compares it with its manifest.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { verifyReport } from "../../shared/report/manifest.ts";
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs, UsageError } from "../args.ts";

const HELP = `usage: exposure verify REPORT MANIFEST

Recomputes the SHA-256 of REPORT and compares it with the one in MANIFEST (written by
\`exposure report --out\`). Prints one line; exits 0 when they match, 1 when they do not.

options:
  -h, --help              show this help`;

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${what} ${path}${code ? ` (${code})` : ""}`);
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { help: { type: "boolean", short: "h" } });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length !== 2) throw new UsageError("verify takes REPORT and MANIFEST; see --help");
  const [reportPath, manifestPath] = positionals as [string, string];
  const report = await readInput(reportPath, "report");
  const manifest = await readInput(manifestPath, "manifest");
  const result = verifyReport(report, basename(reportPath), manifest.toString("utf8"));
  process.stdout.write(`${result.message}\n`);
  return result.ok ? EXIT_OK : EXIT_FAILURE;
}
