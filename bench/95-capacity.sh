# shellcheck shell=bash
# Capacity inputs (issue 15, docs/scaling.md): what the rows the other sections wrote take on
# disk, per row, with their indexes. Runs after them (95); reads only.
# Sourced by scripts/bench.sh, which defines the bench_* helpers.

# rows, table (+TOAST) bytes and index bytes of a table and its partitions
capacity_row_bytes() { # TABLE
  bench_sql -c "
    with parts as (
      select '$1'::regclass as rel
      union all
      select i.inhrelid::regclass from pg_inherits i where i.inhparent = '$1'::regclass
    )
    select (select count(*) from $1),
           sum(pg_table_size(rel)), sum(pg_indexes_size(rel)) from parts" -At -F ' '
}

bench_sql -c 'vacuum analyze public.token_usage, public.token_transactions' >/dev/null
for t in public.token_usage public.token_transactions public.token_lots; do
  read -r rows heap idx <<<"$(capacity_row_bytes "$t")"
  if [ "${rows:-0}" -gt 0 ]; then
    bench_fact "$t: rows the run left" "$rows" rows
    bench_fact "$t: table (+TOAST) per row" "$((heap / rows))" bytes
    bench_fact "$t: indexes per row" "$((idx / rows))" bytes
  fi
done
# The hot user's ceiling: calls for one user run one after another (the balance row lock), so
# one user's calls per second are bounded by the serial time of one call.
if [ -n "$(bench_tps c)" ]; then
  bench_fact "one hot user: record_usage calls/s (run c), 8 clients" "$(bench_tps c)" "calls/s"
  bench_fact "one hot user: time per serialized call (1 / run c)" \
    "$(awk -v t="$(bench_tps c)" 'BEGIN { printf "%.0f", 1e6 / t }')" "us"
fi
