# shellcheck shell=bash
# Holds (issue 6): what a streaming call costs with a hold, against one record_usage call,
# measured in the same run on the same users (both as service_role, through SQL).
#   (h-ru)   record_usage, uniform over 10,000 users (one call, one transaction)
#   (h-pair) reserve_tokens, then settle_hold of the hold it returned: two transactions,
#            counted as one pgbench transaction (one pair)
#   (h-pair-1tx) for reference, the same pair in one transaction (no real client does that)
# Target (issue 12): a pair costs at most 1/0.6 record_usage calls, tps(h-pair) >= 0.6 x tps(h-ru).
# Both runs use the simple protocol (bench/holds_pair.sql passes the hold id in a literal).
# Sourced by scripts/bench.sh, which defines the bench_* helpers.

HOLDS_USERS=${BENCH_HOLDS_USERS:-10000}
if [ "$(bench_sql -c "select to_regclass('bench.floor_balances') is null" -At)" = t ]; then
  log "holds: $HOLDS_USERS users with a grant each"
  bench_sql setup-core.sql -v nusers="$HOLDS_USERS" -v grant=1000000000 >/dev/null
fi
held_before=$(bench_sql -c "select count(*) from public.token_holds where status = 'held'" -At)

bench_pgbench h-ru "record_usage as service_role, $HOLDS_USERS users (one call)" \
  -M simple -n -f "$BENCH_DIR/record_usage.sql" -D nusers="$HOLDS_USERS"
bench_pgbench h-pair "reserve_tokens + settle_hold as service_role, $HOLDS_USERS users (one pair = two transactions)" \
  -M simple -n -f "$BENCH_DIR/holds_pair.sql" -D nusers="$HOLDS_USERS"
bench_pgbench h-pair-1tx "reference: the same pair in one transaction, $HOLDS_USERS users" \
  -M simple -n -f "$BENCH_DIR/holds_pair_1tx.sql" -D nusers="$HOLDS_USERS"

# Every pair settled its hold, and the ledger adds up.
held_after=$(bench_sql -c "select count(*) from public.token_holds where status = 'held'" -At)
[ "$held_after" = "$held_before" ] || die "holds: $((held_after - held_before)) holds were left unsettled after the runs"
bench_verify holds

bench_ratio "(h-pair)/(h-ru) reserve + settle pair / one record_usage" h-pair h-ru 0.6
bench_ratio "(h-pair-1tx)/(h-ru) the pair in one transaction / one record_usage" h-pair-1tx h-ru
