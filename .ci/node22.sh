# Puts a Node.js 22 (or newer) first on PATH. When the machine's node is older, installs the
# npm registry's node@22 package into a cache directory (the registry is reachable; nothing else is).
# Sourced by .ci/run; a developer can source it too.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  NODE22_DIR="${NODE22_DIR:-$HOME/.cache/exposure-monitor/node22}"
  if [ ! -x "$NODE22_DIR/node_modules/.bin/node" ]; then
    mkdir -p "$NODE22_DIR"
    npm install --prefix "$NODE22_DIR" --no-save --no-audit --no-fund node@22 >/dev/null
  fi
  export PATH="$NODE22_DIR/node_modules/.bin:$PATH"
fi
if [ "$(node_major)" -lt 22 ]; then
  echo "error: could not get Node.js 22 (node is $(node --version 2>/dev/null || echo missing))" >&2
  return 1 2>/dev/null || exit 1
fi
