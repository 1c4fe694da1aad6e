#!/usr/bin/env bash
# `npm run schema:dump`: the readable current definition of every object, one file per object,
# in supabase/schema/ (generated from the live catalog; see scripts/schema-split.ts).
#   scripts/schema-dump.sh                  build a throw-away database from supabase/migrations
#                                           (cluster `schema` on SCHEMA_DB_PORT) and write the files
#   scripts/schema-dump.sh DB_URL           write them from that database (built from the migrations)
#   scripts/schema-dump.sh --check [DB_URL] fail when the committed files differ (npm test)
source "$(dirname "$0")/lib.sh"

check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
url=${1:-}
# Anything but a postgres URL (--help, a typo) gets the usage, not pg_dump's error about a socket.
case "$url" in
  '' | postgres://* | postgresql://*) ;;
  *) die "usage: npm run schema:dump [-- DB_URL]  |  npm run schema:dump -- --check [DB_URL]" ;;
esac
target="$ROOT/supabase/schema"

generated=$(mktemp -d)
jobs=$(mktemp)
cleanup() { rm -rf "$generated" "$jobs"; }
trap cleanup EXIT

if [ -z "$url" ]; then
  source "$ROOT/scripts/cluster.sh"
  bash "$ROOT/scripts/install.sh" >&2
  SCHEMA_DB_PORT=${SCHEMA_DB_PORT:-$((TEST_DB_PORT + 2))}
  url=$(db_url_for "$SCHEMA_DB_PORT")
  cluster_destroy schema # a leftover of an interrupted run
  trap 'cleanup; cluster_destroy schema' EXIT
  cluster_start schema "$SCHEMA_DB_PORT" fast
  apply_compat "$SCHEMA_DB_PORT"
  db_push "$url"
fi

# pg_cron keeps its jobs as rows of cron.job, which a schema dump leaves out.
psql_url "$url" -At -c "
  select format('select cron.schedule(%L, %L, %L);', j.jobname, j.schedule, j.command)
         || case when j.active then '' else format(E'\nselect cron.alter_job(%s, active => false);', j.jobid) end
  from cron.job j
  where j.jobname not like 'npm-test-%' -- scheduled by scripts/test.sh for its own checks
  order by j.jobname" >"$jobs" || die "reading cron.job failed"

# Only our schemas: auth, extensions and the compatibility layer are Supabase's. Not
# token_usage's monthly partitions (pg_partman's token_usage_p<month> and token_usage_default):
# which exist depends on the day the database was built, and each has its parent's shape.
"$PG_BIN/pg_dump" --schema-only --no-owner --schema=public --schema=private --schema=usage_archive \
  --exclude-table='public.token_usage_p*' --exclude-table=public.token_usage_default --dbname="$url" |
  (cd "$ROOT" && deno run --allow-read="$jobs" --allow-write="$generated" --quiet scripts/schema-split.ts "$generated" "$jobs") ||
  die "schema dump failed"

generated_output "$check" "$generated" "$target" "npm run schema:dump"
