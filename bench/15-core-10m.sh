# shellcheck shell=bash
# bench: opt-in
# Core ledger with 10,000,000 rows of usage history (issue 12): record_usage over the core
# users after the history grows to BENCH_CORE_10M_ROWS rows, against run (b) of the same run
# (`BENCH_ONLY="core core-10m"`; the core section must run first). Loading takes minutes.
# Sourced by scripts/bench.sh, which defines the bench_* helpers.

CORE_10M_ROWS=${BENCH_CORE_10M_ROWS:-10000000}
[ -n "$(bench_tps b)" ] || die "core-10m: run it with the core section (BENCH_ONLY=\"core core-10m\")"
have=$(bench_sql -c "select count(*) from public.token_usage" -At)
if [ "$have" -lt "$CORE_10M_ROWS" ]; then
  log "core-10m: loading $((CORE_10M_ROWS - have)) more token_usage rows"
  bench_sql setup-core-history.sql -v nusers="$CORE_USERS" -v rows="$((CORE_10M_ROWS - have))" >/dev/null
fi
bench_pgbench d10 "record_usage, $CORE_USERS users, +$CORE_10M_ROWS usage rows" \
  -n -f "$BENCH_DIR/record_usage.sql" -D nusers="$CORE_USERS"
bench_verify core-10m
bench_ratio "(d10)/(b) with 10M usage rows / without" d10 b 0.9
