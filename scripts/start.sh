#!/usr/bin/env bash
# `npm start`: install what is missing, start Postgres, apply migrations and seed, serve the
# API (gateway, PostgREST, functions) in the background, write .local-stack/env, print URLs
# and keys. Running it again reuses what runs.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"
source "$ROOT/scripts/api.sh"

bash "$ROOT/scripts/install.sh"

if [ -n "${SUPABASE_DB_URL:-}" ]; then
  # Another Postgres (a `supabase start` stack or a hosted project): no local cluster, no
  # compatibility layer, pending migrations only. Seed only when asked: it is dev data. That
  # database has its own API, so no PostgREST here: the gateway serves the functions only.
  db_url=$SUPABASE_DB_URL
  log "using SUPABASE_DB_URL; the local cluster is not started"
  if [ "${LEDGER_SEED:-0}" = 1 ]; then db_push "$db_url" --include-seed; else db_push "$db_url"; fi
  api_start "" "$db_url" "$API_PORT" "$REST_PORT" "$FUNCTIONS_PORT"
else
  # Every step is a no-op on a database that is up to date, so a second `npm start` only checks.
  cluster_start dev "$DB_PORT"
  db_url=$(db_url_for "$DB_PORT")
  apply_compat "$DB_PORT"             # written to run any number of times
  db_push "$db_url" --include-seed    # pending migrations; the seed once (the CLI records it)
  api_start "" "$db_url" "$API_PORT" "$REST_PORT" "$FUNCTIONS_PORT" "$(rest_db_uri_for "$DB_PORT")"
fi

write_env_file
bash "$ROOT/scripts/status.sh"
