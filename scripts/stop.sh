#!/usr/bin/env bash
# `npm stop`: stop the API (gateway, PostgREST, functions) of `npm start` and of an interrupted
# `npm test`, and every cluster of this checkout (dev, test, bench). Data stays; `npm run
# db:reset` is the way to start over. A database given by SUPABASE_DB_URL is not ours and is
# left alone.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"
source "$ROOT/scripts/api.sh"

api_stop ""
api_stop test-
api_stop bench- # left running by BENCH_KEEP=1
for name in $(cluster_names); do cluster_stop "$name"; done
log "stopped"
