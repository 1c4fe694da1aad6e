# shellcheck shell=bash
# bench: opt-in
# History (issue 15): record_usage with 10,000,000 usage rows of history against the same run
# without them, in one bench run. token_usage is partitioned by month, so history sits in the
# partitions of past months; the replay lookup reads only the partitions of the key window.
#   (hist0-N)  record_usage, uniform over 10,000 users, before the history is loaded
#   (hist10-N) the same, after loading BENCH_HISTORY_ROWS rows over the past twelve months
# Each is run BENCH_HISTORY_REPEATS times (default 3); the target is on the medians:
# median tps(hist10) >= 0.9 x median tps(hist0). Run it alone for a clean baseline
# (BENCH_ONLY=history: no other section's usage rows). Loading 10M rows takes minutes.
# Sourced by scripts/bench.sh, which defines the bench_* helpers.

HISTORY_USERS=${BENCH_HISTORY_USERS:-10000}
HISTORY_ROWS=${BENCH_HISTORY_ROWS:-10000000}
HISTORY_REPEATS=${BENCH_HISTORY_REPEATS:-3}
if [ "$(bench_sql -c "select to_regclass('bench.floor_balances') is null" -At)" = t ]; then
  log "history: $HISTORY_USERS users with a grant each"
  bench_sql setup-core.sql -v nusers="$HISTORY_USERS" -v grant=1000000000 >/dev/null
fi
# The partitions of the past year (create_usage_partitions makes an as-of month and 3 after).
bench_sql -c "select public.create_usage_partitions(now() - m * interval '1 month') from unnest(array[12, 8, 4]) m" >/dev/null

for i in $(seq 1 "$HISTORY_REPEATS"); do
  bench_pgbench "hist0-$i" "record_usage, $HISTORY_USERS users, before the history ($i)" \
    -n -f "$BENCH_DIR/record_usage.sql" -D nusers="$HISTORY_USERS"
done
log "history: loading $HISTORY_ROWS token_usage rows over the past twelve months"
started=$(date +%s)
bench_sql setup-history.sql -v nusers="$HISTORY_USERS" -v rows="$HISTORY_ROWS" >/dev/null
bench_fact "history load: $HISTORY_ROWS usage rows, INSERT ... SELECT + VACUUM ANALYZE" "$(($(date +%s) - started))" s
for i in $(seq 1 "$HISTORY_REPEATS"); do
  bench_pgbench "hist10-$i" "record_usage, $HISTORY_USERS users, +$HISTORY_ROWS usage rows ($i)" \
    -n -f "$BENCH_DIR/record_usage.sql" -D nusers="$HISTORY_USERS"
done

bench_verify history

# Medians and spreads of the repeats (tps, and server CPU per transaction).
history_median() { # FIELD PREFIX
  for i in $(seq 1 "$HISTORY_REPEATS"); do bench_field "$2-$i" "$1"; done | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
history_spread() { # PREFIX: min-max of tps
  for i in $(seq 1 "$HISTORY_REPEATS"); do bench_field "$1-$i" 3; done | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f-%.0f", lo, hi }'
}
bench_fact "hist0 tps: median (min-max) of $HISTORY_REPEATS" "$(history_median 3 hist0) ($(history_spread hist0))" tps
bench_fact "hist10 tps: median (min-max) of $HISTORY_REPEATS" "$(history_median 3 hist10) ($(history_spread hist10))" tps
bench_target "(hist10)/(hist0) median tps, +$HISTORY_ROWS usage rows / none" \
  "$(awk -v a="$(history_median 3 hist10)" -v b="$(history_median 3 hist0)" 'BEGIN { printf "%.3f", a / b }')" 0.9
bench_target "(hist10)/(hist0) the same in median server CPU/txn (hist0 / hist10)" \
  "$(awk -v a="$(history_median 5 hist0)" -v b="$(history_median 5 hist10)" 'BEGIN { printf "%.3f", a / b }')" 0.9
