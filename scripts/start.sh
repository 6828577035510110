#!/usr/bin/env bash
# `npm start`: a supported Node.js, install, build, create the database, migrate, then run the API (and the worker, once
# it is built) in the foreground. Ctrl-C or SIGTERM stops every process this script started.
# Expects PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/keyplane).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# A supported Node.js (the system one if it is 22, 24 or 26, otherwise the version in .nvmrc from
# the npm registry), then the dependencies; see scripts/node-runtime.sh.
# shellcheck source=scripts/node-runtime.sh
source scripts/node-runtime.sh
kp_use_node
log "Node.js $(node --version)"
kp_ensure_dependencies

log "building"
rm -rf dist # a deleted source file (a migration above all) must not live on as stale JavaScript
npm run -s build

log "creating the database if needed"
node scripts/ensure-database.js

log "applying migrations"
npm run -s migrate

# Validate the configuration once, before any process starts. Outside production this also writes
# missing development secrets to the local secrets file, so the API and the worker never race to
# generate different ones.
node -e '
  const { loadConfig, ConfigError } = require("./dist/src/config");
  try { loadConfig(); } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write("keyplane: " + e.message + "\n");
    process.exit(78);
  }'

if [ "${NODE_ENV:-development}" != production ] && [ -z "${KEYPLANE_ADMIN_TOKEN:-}" ]; then
  secrets_file=${KEYPLANE_LOCAL_SECRETS_FILE:-.keyplane/dev-secrets.json}
  case $secrets_file in /*) require_path=$secrets_file ;; *) require_path=./$secrets_file ;; esac
  log "development secrets: $secrets_file (generated on first start, git-ignored)"
  echo "Read the platform admin token with:"
  echo "  node -p \"require('$require_path').KEYPLANE_ADMIN_TOKEN\""
  echo "and send it as: Authorization: Bearer <token>"
fi

pids=()
nap=
stop_all() {
  trap '' INT TERM HUP # a second Ctrl-C must not orphan processes that are still draining
  [ -n "$nap" ] && kill "$nap" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true # the API and the worker drain before they exit
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM HUP

run() {
  "$@" &
  pids+=("$!")
}

log "starting the API on port ${PORT:-4000} (Ctrl-C stops everything)"
run node dist/src/main.js
if [ -f dist/workers/main.js ]; then
  log "starting the worker"
  run node dist/workers/main.js
fi

# A polling loop rather than `wait -n`, which macOS's bash 3.2 lacks. It also watches the parent:
# `npm start` runs this script under `sh -c`, and npm passes SIGTERM to that shell, which dies
# without passing it on, so a parent that goes away counts as a SIGTERM.
parent=$PPID
status=0
while :; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      # One process exited on its own (a crash, a port in use): stop the others too.
      wait "$pid" || status=$?
      break 2
    fi
  done
  if ! kill -0 "$parent" 2>/dev/null; then
    status=143
    break
  fi
  sleep 1 &
  nap=$!
  wait "$nap" || true # a signal interrupts this at once and runs the trap
done
stop_all
exit "$status"
