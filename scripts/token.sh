#!/usr/bin/env bash
# `npm run token -- <email> [--admin] [--expires-in S] [--json]`: a user's access token for the
# local stack, which has no Auth server (details in scripts/local/token.ts). Local only.
source "$(dirname "$0")/lib.sh"

[ -z "${SUPABASE_DB_URL:-}" ] ||
  die "SUPABASE_DB_URL is set: sign in through that project's Auth (supabase.auth.signInWithPassword); this command signs with the local stack's secret only"
export DB_URL API_URL JWT_SECRET
DB_URL=$(db_url_for "$DB_PORT")
API_URL="http://127.0.0.1:$API_PORT"
cd "$ROOT" || exit 1
exec deno run --allow-read --allow-env --allow-net --quiet scripts/local/token.ts "$@"
