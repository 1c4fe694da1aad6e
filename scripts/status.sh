#!/usr/bin/env bash
# `npm run status`: what runs and how to reach it, like `supabase status`.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"
source "$ROOT/scripts/functions.sh"

db_url=${SUPABASE_DB_URL:-$(db_url_for "$DB_PORT")}
db_state=stopped
if [ -n "${SUPABASE_DB_URL:-}" ] || cluster_running dev "$DB_PORT"; then db_state=running; fi
fn_state=stopped
functions_running && fn_state=running

cat <<STATUS

Token ledger local stack ($db_state database, $fn_state functions)

         DB URL: $db_url
  Functions URL: http://127.0.0.1:$API_PORT/functions/v1/
                   stripe-webhook: http://127.0.0.1:$API_PORT/functions/v1/stripe-webhook
                   health:         http://127.0.0.1:$API_PORT/functions/v1/health
     JWT secret: $JWT_SECRET
       anon key: $(make_jwt anon)
service_role key: $(make_jwt service_role)
 Stripe webhook: ${STRIPE_WEBHOOK_SECRET:-$STRIPE_WEBHOOK_SECRET_LOCAL}
           Logs: $(state_dir)/dev/postgres.log, $(functions_log)

PostgREST is not part of this stack: call the RPCs through SQL (psql "$db_url")
or run \`supabase start\` where Docker is available. \`npm stop\` stops everything.
STATUS
