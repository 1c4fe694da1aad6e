#!/usr/bin/env bash
# `npm run demo:stream -- [--user EMAIL] [--fail-after N] [--words N]`: the streaming pattern of
# docs/holds.md (reserve, stream, settle; release or settle what was shown on error), run once
# against the local stack through supabase-js with a fake model, as a signed-in user (default:
# the seed's demo@example.test). Details in scripts/demo-stream.ts. Local only.
source "$(dirname "$0")/lib.sh"

[ -z "${SUPABASE_DB_URL:-}" ] ||
  die "SUPABASE_DB_URL is set: the demo signs in with the local stack's secret only"
export DB_URL SUPABASE_URL SUPABASE_ANON_KEY JWT_SECRET
DB_URL=$(db_url_for "$DB_PORT")
SUPABASE_URL="http://127.0.0.1:$API_PORT"
SUPABASE_ANON_KEY=$(make_jwt anon)
cd "$ROOT" || exit 1
exec deno run --allow-read --allow-env --allow-net --quiet scripts/demo-stream.ts "$@"
