#!/usr/bin/env bash
# `npm run status`: what runs and how to reach it, like `supabase status`.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"
source "$ROOT/scripts/functions.sh"

if [ -n "${SUPABASE_DB_URL:-}" ]; then
  # The user's own database: report whether it answers, and never print its password.
  db_url=$(sed -E 's#(://[^:/@]+:)[^@]*@#\1****@#' <<<"$SUPABASE_DB_URL")
  db_state=unreachable
  "$PG_BIN/pg_isready" -q -t 3 -d "$SUPABASE_DB_URL" && db_state=running
  logs=$(functions_log)
else
  db_url=$(db_url_for "$DB_PORT")
  db_state=stopped
  cluster_running dev "$DB_PORT" && db_state=running
  logs="$(cluster_dir dev)/postgres.log, $(functions_log)"
fi
fn_state=stopped
functions_running && fn_state=running
fn_base="http://127.0.0.1:$API_PORT/functions/v1"

echo
echo "Token ledger local stack: database $db_state, functions $fn_state"
echo
row() { # label value; an empty label continues the row above
  if [ -n "$1" ]; then printf '%16s: %s\n' "$1" "$2"; else printf '%18s%s\n' "" "$2"; fi
}
row "DB URL" "$db_url"
row "Functions URL" "$fn_base/"
for name in $(functions_names); do row "" "$fn_base/$name"; done
row "JWT secret" "$JWT_SECRET"
row "anon key" "$(make_jwt anon)"
row "service_role key" "$(make_jwt service_role)"
row "webhook secret" "${STRIPE_WEBHOOK_SECRET:-$STRIPE_WEBHOOK_SECRET_LOCAL} (STRIPE_WEBHOOK_SECRET)"
row "Logs" "$logs"
echo
if [ "$db_state $fn_state" != "running running" ]; then
  echo "\`npm start\` starts what is stopped."
elif [ -z "${SUPABASE_DB_URL:-}" ]; then
  echo "No PostgREST or Auth in this stack: call the RPCs through psql or a Postgres driver"
  echo "(or use \`supabase start\` where Docker runs). \`npm stop\` stops the stack."
fi
