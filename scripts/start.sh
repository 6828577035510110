#!/usr/bin/env bash
# `npm start`: a supported Node.js, install, build, a database, migrate, then run the API and the worker in the
# foreground. Ctrl-C or SIGTERM stops every process this script started (the API and worker first, then the
# database they used).
# Database: DATABASE_URL when set; otherwise (never in production) an embedded PostgreSQL from the
# `embedded-postgres` package, data in .keyplane/postgres. Queues: QUEUE_BACKEND, else Redis when REDIS_URL
# is set, else BullMQ's PostgreSQL backend in the same database (README: Deployment shapes).
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

pids=()
nap=
db_pid=
stop_all() {
  trap '' INT TERM HUP # a second Ctrl-C must not orphan processes that are still draining
  [ -n "$nap" ] && kill "$nap" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done # the API and the worker drain first
  if [ -n "$db_pid" ]; then
    kill -USR2 "$db_pid" 2>/dev/null || true
    wait "$db_pid" 2>/dev/null || true # then the embedded PostgreSQL shuts down cleanly (src/embedded/main.ts)
  fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM HUP

if [ -z "${DATABASE_URL:-}" ]; then
  if [ "${NODE_ENV:-development}" = production ]; then
    echo "keyplane: DATABASE_URL is required in production (an embedded PostgreSQL is never started there)" >&2
    exit 78
  fi
  log "starting the embedded PostgreSQL (DATABASE_URL is not set)"
  ready_file=$(mktemp)
  rm -f "$ready_file"
  # A process group of its own (job control on for this one job): Ctrl-C reaches the terminal's
  # group, and PostgreSQL must outlive the API and worker while they drain; stop_all stops it last.
  set -m
  node dist/src/embedded/main.js "$ready_file" &
  db_pid=$!
  set +m
  for _ in $(seq 1 600); do
    [ -s "$ready_file" ] && break
    kill -0 "$db_pid" 2>/dev/null || { wait "$db_pid"; exit $?; } # it said why on stderr
    sleep 0.1
  done
  [ -s "$ready_file" ] || { echo "keyplane: the embedded PostgreSQL did not start within a minute" >&2; stop_all; exit 1; }
  DATABASE_URL=$(cat "$ready_file")
  rm -f "$ready_file"
  export DATABASE_URL
  echo "database: embedded PostgreSQL (127.0.0.1:${KEYPLANE_EMBEDDED_PG_PORT:-54329}, data in ${KEYPLANE_EMBEDDED_PG_DIR:-.keyplane/postgres})"
else
  log "creating the database if needed"
  node scripts/ensure-database.js || exit $?
  echo "database: DATABASE_URL ($(node -p 'require("./dist/src/config-values").describeDatabaseUrl(process.env.DATABASE_URL)'))"
fi

log "applying migrations"
npm run -s migrate || { stop_all; exit 1; }

# Validate the configuration once, before any process starts. Outside production this also writes
# missing development secrets to the local secrets file, so the API and the worker never race to
# generate different ones.
node -e '
  const { loadConfig, ConfigError } = require("./dist/src/config");
  try { loadConfig(); } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write("keyplane: " + e.message + "\n");
    process.exit(78);
  }' || { status=$?; stop_all; exit "$status"; }

if [ "${NODE_ENV:-development}" != production ] && [ -z "${KEYPLANE_ADMIN_TOKEN:-}" ]; then
  secrets_file=${KEYPLANE_LOCAL_SECRETS_FILE:-.keyplane/dev-secrets.json}
  case $secrets_file in /*) require_path=$secrets_file ;; *) require_path=./$secrets_file ;; esac
  log "development secrets: $secrets_file (generated on first start, git-ignored)"
  echo "Read the platform admin token with:"
  echo "  node -p \"require('$require_path').KEYPLANE_ADMIN_TOKEN\""
  echo "and send it as: Authorization: Bearer <token>"
fi

# The check above printed the development-secrets notice (when it applies): once per start is
# enough, the API and the worker stay quiet about it.
export KEYPLANE_DEV_SECRETS_NOTICE=false

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
  for pid in "${pids[@]}" $db_pid; do
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
