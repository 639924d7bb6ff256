#!/bin/sh
# The set-up behind `npm start` and `npm test` (docs/readme-setup.md): installs what a fresh Debian
# machine lacks, then runs the command with Node.js 22 (cli/node22.sh, which also runs `npm ci` on a
# fresh clone).
#   - Debian packages: installed with apt-get when running as root on a machine that has it;
#     otherwise one line says exactly what to install, and the command is not run (exit 1).
# Usage: sh cli/setup.sh start|test COMMAND [ARGS...]
#        sh cli/setup.sh --missing start|test    prints the missing Debian packages, one line, and exits 0
set -u
here=${0%/*}

# "command package" pairs each profile needs: `start` runs the demo (real redis-server processes and the
# embedded SQLite store, which needs nothing), `test` the whole suite (network-namespace labs, headless Chromium, nmap, DynamoDB Local).
profile_needs() {
  case "$1" in
    start) echo "redis-server:redis-server" ;;
    test)
      echo "redis-server:redis-server redis-cli:redis-tools setpriv:util-linux chromium:chromium ip:iproute2" \
        "iptables:iptables openssl:openssl java:default-jre-headless nmap:nmap"
      ;;
    *) return 1 ;;
  esac
}

# The packages of a profile whose command is not on PATH, space-separated, each once.
missing_packages() {
  out=""
  for pair in $(profile_needs "$1"); do
    tool=${pair%%:*}
    package=${pair#*:}
    if ! command -v "$tool" >/dev/null 2>&1; then
      case " $out " in *" $package "*) ;; *) out="$out $package" ;; esac
    fi
  done
  echo "${out# }"
}

profile=${1:-}
if [ "$profile" = "--missing" ]; then
  profile_needs "${2:-}" >/dev/null || { echo "usage: sh cli/setup.sh --missing start|test" >&2; exit 2; }
  missing_packages "$2"
  exit 0
fi
if ! profile_needs "$profile" >/dev/null || [ "$#" -lt 2 ]; then
  echo "usage: sh cli/setup.sh start|test COMMAND [ARGS...]" >&2
  exit 2
fi
shift

missing=$(missing_packages "$profile")
if [ -n "$missing" ]; then
  uid=$(id -u 2>/dev/null || echo unknown)
  if [ "$uid" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "npm $profile: installing the missing Debian packages: $missing" >&2
    # shellcheck disable=SC2086 # one word per package
    if ! { apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2; }; then
      echo "npm $profile: apt-get could not install: $missing" >&2
      exit 1
    fi
    still=$(missing_packages "$profile")
    if [ -n "$still" ]; then
      echo "npm $profile: still missing after apt-get: $still" >&2
      exit 1
    fi
  else
    echo "npm $profile needs Debian packages that are missing; install them with: sudo apt-get install -y $missing" >&2
    exit 1
  fi
fi

exec sh "$here/node22.sh" "$@"
