#!/usr/bin/env bash
# Generate the `Database` TypeScript types with postgres-meta's generator (the one
# `supabase gen types typescript` runs in Docker) for the schemas the API exposes.
#   scripts/gen-types.sh [DB_URL]          write supabase/types/database.types.ts
#   scripts/gen-types.sh --check [DB_URL]  fail when the committed file is out of date
source "$(dirname "$0")/lib.sh"

check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
url=${1:-${SUPABASE_DB_URL:-$(db_url_for "$DB_PORT")}}
target="$ROOT/supabase/types/database.types.ts"
schemas=public # keep in step with [api] schemas in supabase/config.toml

generated=$(mktemp)
trap 'rm -f "$generated"' EXIT
PG_META_DB_URL=$url PG_META_GENERATE_TYPES=typescript PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS=$schemas \
  PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS=true \
  node "$ROOT/node_modules/@supabase/postgres-meta/dist/server/server.js" >"$generated" ||
  die "type generation failed"
# Not token_usage's monthly partitions (token_usage_p<month>, token_usage_default): which exist
# depends on the day, the API roles cannot read them, and clients read token_usage.
awk '/^      token_usage_(p[0-9_]+|default): \{$/ { skip = 1 } !skip { print } skip && /^      \},?$/ { skip = 0 }' \
  "$generated" >"$generated.kept" && mv "$generated.kept" "$generated"

generated_output "$check" "$generated" "$target" "npm run gen:types"
