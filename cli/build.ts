// `npm run build` (and `prepack`): the `exposure` command as JavaScript, dist/exposure.js and the chunks
// it loads (dist/chunks/), so the published package runs on plain Node.js 22 with no dependencies to
// install (docs/readme-cli.md). Everything the CLI imports is bundled, the AWS SDK included. Each
// subcommand is a chunk of its own, loaded when it runs: `exposure probe` parses and compiles only
// the probe's code, not the AWS SDK that `inventory` needs (docs/readme-cli.md, "Start-up").
import { chmodSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));
const CLI_BUNDLE = `${root}dist/exposure.js`;

// Chunk names carry a hash of their content: without this, old chunks would pile up beside new ones.
rmSync(`${root}dist`, { recursive: true, force: true });
const result = await build({
  entryPoints: [`${root}cli/exposure.ts`],
  outdir: `${root}dist`,
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
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
const files = Object.keys(result.metafile.outputs).length;
process.stderr.write(`built dist/exposure.js and ${files - 1} chunks (${(bytes / 1024 / 1024).toFixed(1)} MiB)\n`);
