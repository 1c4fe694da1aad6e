#!/usr/bin/env bash
# `npm run ledger -- <command> [options]`: the operator CLI (scripts/ledger.ts). It talks to the
# local stack's database on DB_PORT unless --db-url or SUPABASE_DB_URL names another one.
source "$(dirname "$0")/lib.sh"

export DB_PORT
cd "$ROOT" || exit 1
exec deno run --allow-net --allow-env --allow-read --allow-sys --quiet scripts/ledger.ts "$@"
