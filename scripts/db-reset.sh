#!/usr/bin/env bash
# `npm run db:reset`: recreate the local database from migrations and seed. The whole dev
# cluster goes (roles and pg_cron jobs included), so nothing survives from earlier runs. A
# running API is restarted, so that PostgREST connects to the new cluster at once.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"
source "$ROOT/scripts/api.sh"

[ -z "${SUPABASE_DB_URL:-}" ] || die "SUPABASE_DB_URL is set: reset that database with its own tools (supabase db reset)"
bash "$ROOT/scripts/install.sh"
api_was_running=0
api_running "" "$API_PORT" 1 && api_was_running=1
api_stop ""
cluster_destroy dev
cluster_start dev "$DB_PORT"
apply_compat "$DB_PORT"
db_push "$(db_url_for "$DB_PORT")" --include-seed
log "database reset: $(db_url_for "$DB_PORT")"
if [ $api_was_running = 1 ]; then
  api_start "" "$(db_url_for "$DB_PORT")" "$API_PORT" "$REST_PORT" "$FUNCTIONS_PORT" "$(rest_db_uri_for "$DB_PORT")"
fi
