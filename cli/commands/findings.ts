// `exposure findings`: what is open now, as a table or as AWS Security Finding Format objects
// ready for `aws securityhub batch-import-findings`.
import { formatEndpoint } from "../../shared/exposure/model.ts";
import {
  asffFindings,
  loadCurrentExposures,
  loadRecentlyResolved,
  openFindingsNow,
} from "../../shared/report/current.ts";
import { canonicalJson } from "../../shared/report/render/json.ts";
import { ownerLabel } from "../../shared/report/render/labels.ts";
import { durationMs, EXIT_OK, parseCommandArgs, UsageError } from "../args.ts";
import { formatTable } from "../output.ts";
import { openStore, STORE_HELP, STORE_OPTIONS } from "../store-args.ts";

const HELP = `usage: exposure findings [--format table|asff] [options]

Lists the open findings now (each exposed endpoint, and its CVEs and compromise indicators), most
severe first, with first seen and what to do. --format asff prints a JSON array of AWS Security
Finding Format objects: ACTIVE for what is exposed now, ARCHIVED for endpoints resolved recently.

options:
  --format F              table (default) | asff
  --hub-account ID        the AWS account that imports the findings (ProductArn); required for asff
  --hub-region R          the Security Hub region (default: --region, else AWS_REGION)
  --resolved-within D     archive endpoints resolved within this duration (default 7d)
${STORE_HELP}
  -h, --help              show this help`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...STORE_OPTIONS,
    format: { type: "string" },
    "hub-account": { type: "string" },
    "hub-region": { type: "string" },
    "resolved-within": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`findings takes no arguments, got "${positionals[0]}"`);
  const format = values.format ?? "table";
  if (format !== "table" && format !== "asff") throw new UsageError(`--format must be table or asff, got "${format}"`);
  const hubAccount = values["hub-account"];
  const hubRegion = values["hub-region"] ?? values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (format === "asff") {
    if (hubAccount === undefined || !/^\d{12}$/.test(hubAccount))
      throw new UsageError("--format asff needs --hub-account with a 12-digit AWS account id");
    if (hubRegion === undefined || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(hubRegion))
      throw new UsageError("--format asff needs --hub-region (e.g. eu-west-1)");
  }
  const resolvedWithinMs = durationMs("resolved-within", values["resolved-within"] ?? "7d");

  const now = new Date();
  const opened = await openStore(values, { access: "read" });
  try {
    const exposures = await loadCurrentExposures(opened.store);
    if (format === "asff") {
      const since = new Date(now.getTime() - resolvedWithinMs).toISOString();
      const resolved = await loadRecentlyResolved(opened.store, since, now.toISOString());
      const findings = asffFindings(exposures, resolved, { securityHubAccountId: hubAccount!, region: hubRegion! });
      process.stdout.write(canonicalJson(findings));
      return EXIT_OK;
    }
    const findings = openFindingsNow(exposures, now);
    if (findings.length === 0) {
      process.stdout.write("no open findings\n");
      return EXIT_OK;
    }
    // The first sentence keeps the table readable; the report and ASFF carry the full text.
    const rows = findings.map((f) => [
      f.severity,
      formatEndpoint(f.ip, f.port),
      f.findingId,
      f.firstSeen,
      ownerLabel(f.owner),
      f.remediation.split(/(?<=\.) /)[0] ?? "",
    ]);
    process.stdout.write(
      `${formatTable(["SEVERITY", "ENDPOINT", "FINDING", "FIRST SEEN", "OWNER", "REMEDIATION"], rows)}\n`,
    );
    return EXIT_OK;
  } finally {
    await opened.close();
  }
}
