#!/usr/bin/env bash
# Fails when the entities describe a schema the migrations do not create: applies every migration
# to a scratch database, then asks TypeORM whether it would generate anything.
set -euo pipefail
cd "$(dirname "$0")/.."
admin=${KEYPLANE_TEST_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
scratch=${KEYPLANE_MIGRATION_CHECK_DB:-keyplane_migration_check}
url="${admin%/*}/$scratch"
psql "$admin" -qc "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" -c "CREATE DATABASE $scratch" >/dev/null 2>&1
trap 'psql "$admin" -qc "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
export DATABASE_URL="$url"
npx typeorm-ts-node-commonjs -d src/db/cli-data-source.ts migration:run >/dev/null
# Down and up again: every migration must have a working down().
for _ in migrations/*.ts; do
  npx typeorm-ts-node-commonjs -d src/db/cli-data-source.ts migration:revert >/dev/null
done
npx typeorm-ts-node-commonjs -d src/db/cli-data-source.ts migration:run >/dev/null
npx typeorm-ts-node-commonjs -d src/db/cli-data-source.ts migration:generate migrations/Pending --check
