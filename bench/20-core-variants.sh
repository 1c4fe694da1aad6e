# shellcheck shell=bash
# bench: opt-in
# Where the time of record_usage goes (docs/benchmarks.md, "What limits it"): the floor, the
# RPC as migrated, and alternatives that live only in this throw-away database
# (bench/setup-core-variants.sql) plus the same writes as plain SQL (bench/ledger-sql.sql).
# Run it with BENCH_ONLY=core-variants (alone, or after core: "core core-variants").
# Sourced by scripts/bench.sh, which defines the bench_* helpers.

CORE_USERS=${BENCH_CORE_USERS:-10000}
if [ "$(bench_sql -c "select to_regclass('bench.floor_balances') is null" -At)" = t ]; then
  log "core-variants: floor tables, $CORE_USERS users with a grant each"
  bench_sql setup-core.sql -v nusers="$CORE_USERS" -v grant=1000000000 >/dev/null
fi
bench_sql setup-core-variants.sql >/dev/null

# One pgbench script per variant, from bench/record_usage.sql with another function name.
for v in plpgsql lean lean_v7; do
  sed "s/public\.record_usage(/bench_alt.record_usage_$v(/" "$BENCH_DIR/record_usage.sql" >"$BENCH_LOGS/record_usage_$v.sql"
done

bench_pgbench v-floor "floor (as run a)" -n -f "$BENCH_DIR/floor.sql" -D nusers="$CORE_USERS"
bench_pgbench v-b "record_usage as migrated (as run b)" -n -f "$BENCH_DIR/record_usage.sql" -D nusers="$CORE_USERS"
bench_pgbench v-plpgsql "record_usage, sql helpers rewritten in plpgsql" \
  -n -f "$BENCH_LOGS/record_usage_plpgsql.sql" -D nusers="$CORE_USERS"
bench_pgbench v-lean "record_usage, lean rewrite" -n -f "$BENCH_LOGS/record_usage_lean.sql" -D nusers="$CORE_USERS"
bench_pgbench v-lean-v7 "record_usage, lean rewrite + time-ordered ids" \
  -n -f "$BENCH_LOGS/record_usage_lean_v7.sql" -D nusers="$CORE_USERS"
bench_pgbench v-sql "the same writes as plain SQL, no function" -n -f "$BENCH_DIR/ledger-sql.sql" -D nusers="$CORE_USERS"
bench_pgbench v-floor-hot "floor, one hot row" -n -f "$BENCH_DIR/floor.sql" -D nusers=1
bench_pgbench v-b-hot "record_usage as migrated, one hot user" -n -f "$BENCH_DIR/record_usage.sql" -D nusers=1
bench_pgbench v-lean-hot "record_usage, lean rewrite, one hot user" -n -f "$BENCH_LOGS/record_usage_lean.sql" -D nusers=1

bad=$(bench_sql -c 'select count(*) from public.verify_token_ledger()' -At)
[ "$bad" = 0 ] || die "core-variants: verify_token_ledger() reports $bad users out of balance after the runs"

for v in v-b v-plpgsql v-lean v-lean-v7 v-sql; do
  bench_ratio "($v)/(v-floor)" "$v" v-floor
done
bench_ratio "(v-b-hot)/(v-floor-hot)" v-b-hot v-floor-hot
bench_ratio "(v-lean-hot)/(v-floor-hot)" v-lean-hot v-floor-hot
