# shellcheck shell=bash
# bench: opt-in
# The hot user's ceiling (issue 15, docs/scaling.md#per-call): why one user's calls per second
# are what they are. Calls for one user run one after another (the balance row lock), so the
# ceiling is 1 / (the time the lock is held per call + the hand-off to the next waiter). This
# section takes that time apart on the machine as it is (its load average is recorded):
#   (hu-floor-1), (hu-1)  floor and record_usage on the hot row with ONE client: no waiting,
#                         the uncontended time of one call (latency) and its server CPU
#   (hu-floor-8), (hu-8)  the same with BENCH_CLIENTS clients: core's (c-floor) and (c)
#   (hu-8-1stmt)          record_usage as one autocommitted statement (no BEGIN/COMMIT round
#                         trips while the lock is held)
#   (hu-8-async)          (hu-8) with synchronous_commit off: the commit's WAL flush no longer
#                         inside the lock
# (hu-8-sampled) repeats (hu-8) with a sampler beside it (bench/hot-user-sampler.sql: reads
# pg_stat_activity every 5 ms) that says what the lock holder was doing. WAL flush time per commit comes from pg_stat_wal
# (track_wal_io_timing on, for this section).
# Sourced by scripts/bench.sh, which defines the bench_* helpers.

if [ "$(bench_sql -c "select to_regclass('bench.floor_balances') is null" -At)" = t ]; then
  bench_sql setup-core.sql -v nusers=10 -v grant=1000000000 >/dev/null
fi
hot_admin() { psql_url "$(db_admin_url_for "$BENCH_DB_PORT")" -At -c "$1"; }
hot_admin 'alter system set track_wal_io_timing = on' >/dev/null
hot_admin 'select pg_reload_conf()' >/dev/null
hot_load() { cut -d' ' -f1 /proc/loadavg; }
hot_wal_sync() { bench_sql -c 'select wal_sync, wal_sync_time from pg_stat_wal' -At -F ' '; }
# hot_run ID LABEL CLIENTS SCRIPT: one bench_pgbench run on user 1 with CLIENTS
# clients; records the load average before it and the mean WAL flush time per flush during it.
hot_run() {
  local id=$1 label=$2 clients=$3 script=$4 s0 s1
  bench_fact "($id) load average (1 min) at its start" "$(hot_load)"
  read -r -a s0 <<<"$(hot_wal_sync)"
  BENCH_CLIENTS=$clients BENCH_JOBS=$(( clients < BENCH_JOBS ? clients : BENCH_JOBS )) \
    bench_pgbench "$id" "$label" -n -f "$BENCH_DIR/$script" -D nusers=1
  read -r -a s1 <<<"$(hot_wal_sync)"
  if [ "$((s1[0] - s0[0]))" -gt 0 ]; then
    bench_fact "($id) WAL flushes per transaction; mean flush time" \
      "$(awk -v n0="${s0[0]}" -v n1="${s1[0]}" -v t0="${s0[1]}" -v t1="${s1[1]}" -v x="$(bench_field "$id" 7)" \
         'BEGIN { printf "%.2f; %.0f us", (n1 - n0) / x, (t1 - t0) * 1000 / (n1 - n0) }')"
  fi
}

hot_run hu-floor-1 "floor, one hot row, 1 client" 1 floor.sql
hot_run hu-1 "record_usage, one hot user, 1 client" 1 record_usage.sql
hot_run hu-floor-8 "floor, one hot row, $BENCH_CLIENTS clients" "$BENCH_CLIENTS" floor.sql
hot_run hu-8 "record_usage, one hot user, $BENCH_CLIENTS clients" "$BENCH_CLIENTS" record_usage.sql
# (hu-8) again with the sampler beside it, over the measured part of the run (the sampler's own
# CPU counts in this run's server CPU, hence a run of its own)
( sleep "$((BENCH_WARMUP + 2))"
  bench_sql hot-user-sampler.sql -v seconds="$((BENCH_SECONDS - 2))" -At -F '|' >"$BENCH_LOGS/hu-8-sampled.sampler.log" 2>&1 ) &
hot_sampler=$!
hot_run hu-8-sampled "record_usage, one hot user, $BENCH_CLIENTS clients, sampled" "$BENCH_CLIENTS" record_usage.sql
wait "$hot_sampler" || true
while IFS='|' read -r state samples share; do
  [ -n "$share" ] || continue
  bench_fact "(hu-8-sampled) lock holder: $state (share of $samples samples; us per call at 1/tps)" \
    "$(awk -v s="$share" -v t="$(bench_tps hu-8-sampled)" 'BEGIN { printf "%.3f; %.0f us", s, s * 1e6 / t }')"
done < <(grep '|' "$BENCH_LOGS/hu-8-sampled.sampler.log")
hot_run hu-8-1stmt "record_usage, one hot user, one statement per call, $BENCH_CLIENTS clients" "$BENCH_CLIENTS" \
  record_usage_1stmt.sql
hot_run hu-8-async "record_usage, one hot user, synchronous_commit off, $BENCH_CLIENTS clients" "$BENCH_CLIENTS" \
  record_usage_async.sql
hot_admin 'alter system reset track_wal_io_timing' >/dev/null
hot_admin 'select pg_reload_conf()' >/dev/null

bench_verify hot-user
for id in hu-floor-1 hu-1 hu-floor-8 hu-8 hu-8-sampled hu-8-1stmt hu-8-async; do
  bench_fact "($id) time per call, 1 / tps" "$(awk -v t="$(bench_tps "$id")" 'BEGIN { printf "%.0f", 1e6 / t }')" us
done
bench_ratio "(hu-8)/(hu-1) hot user, $BENCH_CLIENTS clients / 1 client" hu-8 hu-1
bench_ratio "(hu-8)/(hu-floor-8) hot user / hot floor row" hu-8 hu-floor-8
bench_ratio "(hu-8-1stmt)/(hu-8) one statement / BEGIN..COMMIT" hu-8-1stmt hu-8
bench_ratio "(hu-8-async)/(hu-8) synchronous_commit off / on" hu-8-async hu-8
