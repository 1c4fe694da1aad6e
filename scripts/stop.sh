#!/usr/bin/env bash
# `npm stop`: stop the functions server and every cluster of this checkout (dev, test, bench).
# Data stays; `npm run db:reset` is the way to start over. A database given by SUPABASE_DB_URL
# is not ours and is left alone.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"
source "$ROOT/scripts/functions.sh"

functions_stop
for name in $(cluster_names); do cluster_stop "$name"; done
log "stopped"
