# shellcheck shell=bash
# Core ledger (issue 3): public.record_usage against the floor of bare tables.
#   (a) floor, uniform over 10,000 users       (b) record_usage, uniform over 10,000 users
#   (c) floor and record_usage on one hot user  (d) (b) again with 1,000,000 usage rows
# Sourced by scripts/bench.sh, which defines the bench_* helpers.

CORE_USERS=${BENCH_CORE_USERS:-10000}
CORE_HISTORY_ROWS=${BENCH_CORE_HISTORY_ROWS:-1000000}

log "core: floor tables, $CORE_USERS users with a grant each"
bench_sql setup-core.sql -v nusers="$CORE_USERS" -v grant=1000000000 >/dev/null

bench_pgbench a "floor: UPDATE balance + INSERT usage, $CORE_USERS users" \
  -n -f "$BENCH_DIR/floor.sql" -D nusers="$CORE_USERS"
bench_pgbench b "record_usage as service_role, $CORE_USERS users" \
  -n -f "$BENCH_DIR/record_usage.sql" -D nusers="$CORE_USERS"
bench_pgbench c-floor "floor, one hot row" \
  -n -f "$BENCH_DIR/floor.sql" -D nusers=1
bench_pgbench c "record_usage, one hot user" \
  -n -f "$BENCH_DIR/record_usage.sql" -D nusers=1

log "core: loading $CORE_HISTORY_ROWS token_usage rows"
bench_sql setup-core-history.sql -v nusers="$CORE_USERS" -v rows="$CORE_HISTORY_ROWS" >/dev/null
bench_pgbench d "record_usage, $CORE_USERS users, +$CORE_HISTORY_ROWS usage rows" \
  -n -f "$BENCH_DIR/record_usage.sql" -D nusers="$CORE_USERS"

bench_verify core

bench_ratio "(b)/(a) record_usage / floor" b a 0.7
bench_ratio "(c)/(c-floor) hot user / hot floor row" c c-floor 0.7
bench_ratio "(d)/(b) with 1M usage rows / without" d b 0.9
