// `npm run build` (and `prepack`): the `exposure` command as one JavaScript file, dist/exposure.js, so
// the published package runs on plain Node.js 22 with no dependencies to install (docs/readme-cli.md).
// Everything the CLI imports is bundled, the AWS SDK included; the subcommands stay lazily loaded.
import { chmodSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));
const CLI_BUNDLE = `${root}dist/exposure.js`;

const result = await build({
  entryPoints: [`${root}cli/exposure.ts`],
  outfile: CLI_BUNDLE,
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  minify: true,
  keepNames: true,
  legalComments: "none",
  mainFields: ["module", "main"],
  logLevel: "warning",
  // The entry's `#!/usr/bin/env node` stays the first line; CommonJS parts of the SDK still call require().
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  metafile: true,
});
chmodSync(CLI_BUNDLE, 0o755);
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
process.stderr.write(`built dist/exposure.js (${(bytes / 1024 / 1024).toFixed(1)} MiB)\n`);
