#!/usr/bin/env bash
# `npm run db:reset`: recreate the local database from migrations and seed. The whole dev
# cluster goes (roles and pg_cron jobs included), so nothing survives from earlier runs. The
# functions server, if running, is left running: the database URL does not change.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"

[ -z "${SUPABASE_DB_URL:-}" ] || die "SUPABASE_DB_URL is set: reset that database with its own tools (supabase db reset)"
bash "$ROOT/scripts/install.sh"
cluster_destroy dev
cluster_start dev "$DB_PORT"
apply_compat "$DB_PORT"
db_push "$(db_url_for "$DB_PORT")" --include-seed
log "database reset: $(db_url_for "$DB_PORT")"
