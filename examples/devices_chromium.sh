#!/usr/bin/env bash
# Drives the `devices` example ("where you're signed in") with headless Chromium, as two
# separate browsers: builds and starts the example, runs devices_chromium.mjs beside this
# script against it, and stops the example again.
#
# Prerequisites (not needed by `cargo test`, which tests the example without a browser):
#   - Debian's Chromium:  apt-get install chromium   (used as /usr/bin/chromium; Playwright's
#     own browser downloads are not used)
#   - Node.js (18 or later) and npm: apt-get install nodejs npm
#   - port 3000 on 127.0.0.1 free (the example listens there)
#   playwright-core (the npm package, no browser) is installed into a temporary directory
#   when Node cannot find it from examples/; set PLAYWRIGHT_CORE_DIR to a directory to keep
#   that install between runs.
#
# Usage, from the repository root:
#   examples/devices_chromium.sh
# Environment: CHROMIUM (default /usr/bin/chromium), WAIT_SECONDS (how long to wait for the
# example to answer once built, default 120), PLAYWRIGHT_CORE_DIR (above), CARGO_TARGET_DIR
# and other cargo settings as usual.
#
# What it checks: two isolated browser contexts with different user agents ("Firefox-like"
# A and "Safari-like" B) each sign in as "ada" through the page's CSRF-protected form; A's
# page lists both devices with their user agents and marks A "(this device)"; B's "Log out"
# button on A's page logs B out (B's reload shows the sign-in form); B signs in again; A's
# "Log out all other devices" logs B out again while A stays signed in. One PASS line per
# check; the exit status is non-zero at the first failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export BASE_URL="http://127.0.0.1:3000"
wait_seconds="${WAIT_SECONDS:-120}"

die() {
  echo "devices_chromium.sh: $*" >&2
  exit 1
}

command -v node >/dev/null || die "node not found (apt-get install nodejs npm)"
[ -x "$CHROMIUM" ] || die "$CHROMIUM not found (apt-get install chromium)"

answers() {
  curl -s -o /dev/null --max-time 2 "$BASE_URL/" 2>/dev/null ||
    (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null
}
if answers; then
  die "something already listens on 127.0.0.1:3000; stop it first (the example needs the port)"
fi

# playwright-core: found from examples/ (a node_modules there or above), or in a directory.
tmp_dir=""
server_pid=""
log=""
cleanup() {
  if [ -n "$server_pid" ]; then
    # The server runs in its own process group (setsid): end cargo and the example both.
    kill -TERM -- "-$server_pid" 2>/dev/null || kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$tmp_dir" ]; then
    rm -rf "$tmp_dir"
  fi
  if [ -n "$log" ]; then
    rm -f "$log"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${PLAYWRIGHT_CORE_DIR:-}" ] &&
  (cd "$here" && node -e "require.resolve('playwright-core')" 2>/dev/null); then
  echo "playwright-core: found from $here"
else
  if [ -z "${PLAYWRIGHT_CORE_DIR:-}" ]; then
    tmp_dir="$(mktemp -d)"
    export PLAYWRIGHT_CORE_DIR="$tmp_dir"
  fi
  if ! (cd "$PLAYWRIGHT_CORE_DIR" && node -e "require.resolve('playwright-core')" 2>/dev/null); then
    command -v npm >/dev/null || die "npm not found (apt-get install npm)"
    echo "playwright-core: installing into $PLAYWRIGHT_CORE_DIR"
    # playwright-core downloads no browser; the variable only makes sure of it.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$PLAYWRIGHT_CORE_DIR" \
      --no-audit --no-fund --silent playwright-core >/dev/null
  fi
  echo "playwright-core: from $PLAYWRIGHT_CORE_DIR"
fi

# Build in the foreground (a first build takes minutes, and its errors show here), then run.
cargo build --example devices
log="$(mktemp)"
setsid cargo run --quiet --example devices >"$log" 2>&1 &
server_pid=$!

echo "waiting up to ${wait_seconds}s for $BASE_URL"
deadline=$((SECONDS + wait_seconds))
until answers; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$log" >&2
    die "the example exited before it answered"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    cat "$log" >&2
    die "the example did not answer within ${wait_seconds}s"
  fi
  sleep 1
done

if ! node "$here/devices_chromium.mjs"; then
  echo "--- the example's output:" >&2
  cat "$log" >&2
  exit 1
fi
