#!/bin/sh
# Runs a command with Node.js 22 or newer first on PATH. The project targets Node 22 (Lambda's
# nodejs22.x) and runs TypeScript with its type stripping; when the machine's node is older, the npm
# registry's node@22 package is installed once into a cache directory and used from there.
# Usage: sh cli/node22.sh COMMAND [ARGS...]      (the npm scripts call it this way, from the repository root)
#        . cli/node22.sh                          (sourced: only sets PATH)
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  NODE22_DIR="${NODE22_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/exposure-monitor/node22}"
  if [ ! -x "$NODE22_DIR/node_modules/.bin/node" ]; then
    echo "node $(node --version 2>/dev/null || echo missing) is older than 22: installing node@22 from the npm registry into $NODE22_DIR" >&2
    mkdir -p "$NODE22_DIR"
    npm install --prefix "$NODE22_DIR" --no-save --no-audit --no-fund --loglevel=error node@22 >/dev/null 2>&1 || true
  fi
  PATH="$NODE22_DIR/node_modules/.bin:$PATH"
  export PATH
  if [ "$(node_major)" -lt 22 ]; then
    echo "error: Node.js 22 is required and could not be installed (node is $(node --version 2>/dev/null || echo missing))" >&2
    exit 1
  fi
fi
# A fresh clone: install the locked dependencies first, so `npm start` and `npm test` work right away.
if [ "$#" -gt 0 ] && [ ! -d node_modules ] && [ -f package-lock.json ]; then
  echo "node_modules is missing: running npm ci first" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2 || exit 1
fi
if [ "$#" -gt 0 ]; then exec "$@"; fi
