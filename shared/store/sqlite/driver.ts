// Loading Node's built-in SQLite (node:sqlite). Node 22 marks the module experimental and prints an
// ExperimentalWarning the first time it is loaded, on stderr of every command that opens the store.
// That one warning is held back here and kept in `sqliteLoadWarning` (EXPOSURE_DEBUG=1 shows it, see
// docs/readme-store.md); any other warning raised meanwhile is passed on untouched. The module is
// loaded on first use, so code that only imports the store's types never loads it.
import type * as Sqlite from "node:sqlite";

let loaded: typeof Sqlite | undefined;

/** The ExperimentalWarning Node printed when node:sqlite was loaded, if it printed one. */
export let sqliteLoadWarning: string | undefined;

function isSqliteExperimentalWarning(warning: string | Error, args: unknown[]): boolean {
  const type = warning instanceof Error ? warning.name : typeof args[0] === "string" ? args[0] : undefined;
  const message = warning instanceof Error ? warning.message : warning;
  return type === "ExperimentalWarning" && /^SQLite is an experimental feature/.test(message);
}

export function sqlite(): typeof Sqlite {
  if (loaded) return loaded;
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...args: unknown[]) {
    if (isSqliteExperimentalWarning(warning, args)) {
      sqliteLoadWarning = warning instanceof Error ? warning.message : warning;
      return;
    }
    return (emitWarning as (...all: unknown[]) => void).call(this, warning, ...args);
  } as typeof process.emitWarning;
  try {
    loaded = process.getBuiltinModule("node:sqlite");
  } finally {
    process.emitWarning = emitWarning;
  }
  if (loaded === undefined) {
    throw new Error(
      `the embedded store needs Node.js 22.13 or newer (node:sqlite without a flag); this is Node ${process.version}`,
    );
  }
  if (sqliteLoadWarning !== undefined && process.env.EXPOSURE_DEBUG) {
    process.stderr.write(`exposure: node:sqlite: ${sqliteLoadWarning}\n`);
  }
  return loaded;
}
