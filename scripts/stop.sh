#!/usr/bin/env bash
# `npm stop`: stop the functions server and every project cluster.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"
source "$ROOT/scripts/functions.sh"

functions_stop
for name in dev test bench; do cluster_stop "$name"; done
log "stopped"
