#!/usr/bin/env bash
# `npm run status`: what runs and how to reach it, like `supabase status`.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"
source "$ROOT/scripts/api.sh"

with_rest=1
if [ -n "${SUPABASE_DB_URL:-}" ]; then
  # The user's own database: report whether it answers, and never print its password.
  db_url=$(sed -E 's#(://[^:/@]+:)[^@]*@#\1****@#' <<<"$SUPABASE_DB_URL")
  db_state=unreachable
  "$PG_BIN/pg_isready" -q -t 3 -d "$SUPABASE_DB_URL" && db_state=running
  with_rest=0
  logs="$(svc_file gateway log), $(svc_file functions log)"
else
  db_url=$(db_url_for "$DB_PORT")
  db_state=stopped
  cluster_running dev "$DB_PORT" && db_state=running
  logs="$(cluster_dir dev)/postgres.log, $(svc_file gateway log), $(svc_file rest log), $(svc_file functions log)"
fi
api_state=stopped
api_running "" "$API_PORT" "$with_rest" && api_state=running
api="http://127.0.0.1:$API_PORT"

echo
echo "Token ledger local stack: database $db_state, API $api_state"
echo
row() { # label value; an empty label continues the row above
  if [ -n "$1" ]; then printf '%16s: %s\n' "$1" "$2"; else printf '%18s%s\n' "" "$2"; fi
}
row "API URL" "$api"
if [ $with_rest = 1 ]; then
  row "REST URL" "$api/rest/v1/ (PostgREST 12.0.2)"
else
  row "REST URL" "none here: SUPABASE_DB_URL's project serves its own"
fi
row "Functions URL" "$api/functions/v1/"
for name in $(functions_names); do row "" "$api/functions/v1/$name"; done
row "DB URL" "$db_url"
row "JWT secret" "$JWT_SECRET"
row "anon key" "$(make_jwt anon)"
row "service_role key" "$(make_jwt service_role)"
row "webhook secret" "${STRIPE_WEBHOOK_SECRET:-$STRIPE_WEBHOOK_SECRET_LOCAL} (STRIPE_WEBHOOK_SECRET)"
row "Env file" "$(env_file) (set -a; . $(env_file); set +a)"
row "Logs" "$logs"
echo
if [ "$db_state $api_state" != "running running" ]; then
  echo "\`npm start\` starts what is stopped."
elif [ -z "${SUPABASE_DB_URL:-}" ]; then
  echo "A user's token: \`npm run token -- alice@example.com\` (no Auth server here). \`npm stop\` stops the stack."
fi
