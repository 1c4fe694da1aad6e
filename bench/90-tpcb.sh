# shellcheck shell=bash
# Reference: pgbench's built-in tpcb-like at scale 10, in its own database (pgbench -i creates
# pgbench_* tables in public; the ledger database stays clean). Shows what this machine does
# for a classic small write transaction, for comparing runs made on different days.
# Sourced by scripts/bench.sh, which defines the bench_* helpers.

bench_sql -c 'create database pgbench_ref' >/dev/null
log "tpcb: pgbench -i -s 10"
(eval "$(pg_env "$(bench_url pgbench_ref)")" && pgbench -i -s 10 -q) >"$BENCH_LOGS/e.init.log" 2>&1 ||
  { tail -20 "$BENCH_LOGS/e.init.log" >&2; die "pgbench -i failed (log: $BENCH_LOGS/e.init.log)"; }
bench_pgbench e "pgbench tpcb-like, scale 10 (reference)" --db pgbench_ref -b tpcb-like
