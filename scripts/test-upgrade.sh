#!/usr/bin/env bash
# Legacy upgrade test: our migrations applied to a database that already holds the seed's
# token tables with rows (the product's real database), losing nothing.
#   1. a throw-away `upgrade` cluster with the Supabase compatibility layer
#   2. supabase/upgrade_test/legacy_schema.sql: the seed's tables, legacy rows, a snapshot
#   3. every migration, with `supabase db push` (no seed)
#   4. pgTAP: supabase/tests/000_test_helpers.sql (the shared helpers), supabase/upgrade_test/*.test.sql
# Prints TAP lines (one per setup step, then pg_prove's) for scripts/test.sh to count;
# exits non-zero when anything failed. The cluster is destroyed at the end.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"

UPGRADE_DB_PORT=${UPGRADE_DB_PORT:-$((TEST_DB_PORT + 1))}
url=$(db_url_for "$UPGRADE_DB_PORT")
# Not under supabase/tests: `supabase test db` runs every .sql file there against a migrated
# database, where the legacy tables cannot be created again.
tests=$ROOT/supabase/upgrade_test

cluster_destroy upgrade # a leftover of an interrupted run
trap 'cluster_destroy upgrade' EXIT

# step N DESCRIPTION COMMAND...: one TAP line; on failure its output as comments, and stop.
step() {
  local n=$1 desc=$2 out
  shift 2
  out=$(mktemp)
  if ("$@") >"$out" 2>&1; then # a subshell: a helper's `die` ends the step, not this script
    echo "ok $n - upgrade: $desc"
    rm -f "$out"
  else
    echo "not ok $n - upgrade: $desc"
    sed 's/^/# /' "$out" | tail -40
    rm -f "$out"
    exit 1
  fi
}

start() {
  cluster_start upgrade "$UPGRADE_DB_PORT" fast && apply_compat "$UPGRADE_DB_PORT"
}
migrate() {
  # pgTAP only afterwards: the migrations meet the database as the product has it.
  db_push "$url" && psql_url "$(db_admin_url_for "$UPGRADE_DB_PORT")" -c 'create extension if not exists pgtap with schema extensions'
}

step 1 "a throw-away cluster with the Supabase compatibility layer" start
step 2 "the legacy tables (seed DDL) with rows, and their snapshot" \
  psql_url "$url" -f "$tests/legacy_schema.sql"
step 3 "supabase db push applies every migration to the legacy database" migrate

# The shared pgTAP helpers (schema `tests`) first, as `supabase test db` runs them.
(eval "$(pg_env "$url")" && pg_prove --ext .sql --verbose --failures \
  "$ROOT/supabase/tests/000_test_helpers.sql" "$tests"/*.test.sql)
