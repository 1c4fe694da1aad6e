#!/usr/bin/env bash
# `npm run bench`: the benchmarks of docs/benchmarks.md, on a throw-away cluster.
#
# Creates its own durable cluster (fsync on, like a real server) named `bench`, applies the
# compat layer and the migrations, runs every section in bench/NN-name.sh in order, prints one
# table of results and ratios, and destroys the cluster at the end (also on Ctrl-C). Nothing is
# written to the repository: copy the printed tables into docs/benchmarks.md by hand.
#
# Environment:
#   BENCH_SECONDS  duration of each measured run (default 20)
#   BENCH_WARMUP   duration of the warm-up before each run (default 5; 0 skips it)
#   BENCH_CLIENTS  pgbench clients (default 8)
#   BENCH_JOBS     pgbench threads (default 2)
#   BENCH_PROTOCOL pgbench query protocol: simple, extended or prepared (default simple)
#   BENCH_ONLY     space-separated section names to run (default: all but the opt-in ones),
#                  e.g. "core" or "core holds"
#   BENCH_KEEP=1   leave the cluster running at the end, for a closer look (destroyed next run)
#   BENCH_DB_PORT  port of the bench cluster (default 54340)
#
# Adding a benchmark: write bench/NN-name.sh (sourced in order, NN sets the order) using the
# helpers below (bench_sql, bench_pgbench, bench_record, bench_ratio, bench_target), plus its SQL files in
# bench/. Sections share one cluster and one database, so later ones see what earlier ones left.
# See docs/benchmarks.md.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"
source "$ROOT/scripts/api.sh" # the api section serves the API (gateway, PostgREST) on the bench cluster

BENCH_DB_PORT=${BENCH_DB_PORT:-54340}
BENCH_SECONDS=${BENCH_SECONDS:-20}
BENCH_WARMUP=${BENCH_WARMUP:-5}
BENCH_CLIENTS=${BENCH_CLIENTS:-8}
BENCH_JOBS=${BENCH_JOBS:-2}
BENCH_PROTOCOL=${BENCH_PROTOCOL:-simple}
BENCH_ONLY=${BENCH_ONLY:-}
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_DIR=$ROOT/bench
BENCH_URL=$(db_url_for "$BENCH_DB_PORT")
for v in BENCH_SECONDS BENCH_WARMUP BENCH_CLIENTS BENCH_JOBS BENCH_DB_PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done
[ "$BENCH_SECONDS" -gt 0 ] && [ "$BENCH_CLIENTS" -gt 0 ] && [ "$BENCH_JOBS" -gt 0 ] ||
  die "BENCH_SECONDS, BENCH_CLIENTS and BENCH_JOBS must be positive"
[ "$BENCH_JOBS" -le "$BENCH_CLIENTS" ] || BENCH_JOBS=$BENCH_CLIENTS # pgbench requires jobs <= clients
[[ $BENCH_PROTOCOL =~ ^(simple|extended|prepared)$ ]] || die "BENCH_PROTOCOL must be simple, extended or prepared"

# Results of this run: one line per run / ratio, tab-separated. Logs of every pgbench run.
BENCH_LOGS="$(state_dir)/bench-logs"
rm -rf "$BENCH_LOGS"
mkdir -p "$BENCH_LOGS"
BENCH_RESULTS="$BENCH_LOGS/results.tsv"
BENCH_RATIOS="$BENCH_LOGS/ratios.tsv"
BENCH_FACTS="$BENCH_LOGS/facts.tsv"
: >"$BENCH_RESULTS"
: >"$BENCH_RATIOS"
: >"$BENCH_FACTS"

# ---------------------------------------------------------------------------------------------
# Helpers for sections
# ---------------------------------------------------------------------------------------------

# bench_url [database] -> URL of a database in the bench cluster (default: the ledger database)
bench_url() { db_url_for "$BENCH_DB_PORT" "${1:-postgres}"; }

# bench_sql FILE|-c SQL [psql args...]: run SQL against the ledger database as postgres
# (not a superuser, as on Supabase; trusted like the service by the ledger).
bench_sql() {
  if [ "$1" = -c ]; then
    psql_url "$BENCH_URL" "$@"
  else
    psql_url "$BENCH_URL" -f "$BENCH_DIR/$1" "${@:2}"
  fi
}

# Start every measured run from the same state: dirty pages written, statistics fresh.
# CHECKPOINT needs the superuser (supabase_admin): postgres is not one, as on Supabase.
bench_settle() { # [database]
  psql_url "$(db_admin_url_for "$BENCH_DB_PORT" "${1:-postgres}")" -c 'checkpoint' >/dev/null
}

# CPU time used by the bench cluster's server processes so far, in clock ticks: the postmaster,
# the children it has reaped (backends of finished runs) and the live ones. On a shared, noisy
# machine, CPU per transaction moves much less than tps: it is the column to trust when two
# runs disagree.
bench_server_ticks() {
  local pm
  pm=$(head -1 "$(cluster_dir bench)/pgdata/postmaster.pid")
  {
    awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
    for p in $(pgrep -P "$pm"); do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true; done
  } | awk '{ s += $1 } END { print s + 0 }'
}

# bench_pgbench ID LABEL [--db DATABASE] PGBENCH-ARGS...: a warm-up, then the measured run
# (-c BENCH_CLIENTS -j BENCH_JOBS -T BENCH_SECONDS -M BENCH_PROTOCOL) with the given script
# options, e.g.
#   bench_pgbench a "floor" -n -f "$BENCH_DIR/floor.sql" -D nusers=10000
# Records tps, mean latency, server CPU and WAL per transaction under ID. Fails the whole run
# when pgbench reports an error (a client that hits an SQL error aborts the run).
bench_pgbench() {
  local id=$1 label=$2 db=postgres
  shift 2
  if [ "${1:-}" = --db ]; then
    db=$2
    shift 2
  fi
  local env out=$BENCH_LOGS/$id.log
  local args=(-c "$BENCH_CLIENTS" -j "$BENCH_JOBS" -M "$BENCH_PROTOCOL" "$@")
  env=$(pg_env "$(bench_url "$db")")
  if [ "$BENCH_WARMUP" -gt 0 ]; then
    (eval "$env" && pgbench -T "$BENCH_WARMUP" "${args[@]}") >"$BENCH_LOGS/$id.warmup.log" 2>&1 ||
      { tail -20 "$BENCH_LOGS/$id.warmup.log" >&2; die "pgbench warm-up of $id failed (log: $BENCH_LOGS/$id.warmup.log)"; }
  fi
  bench_settle "$db"
  log "($id) $label: ${BENCH_SECONDS}s, $BENCH_CLIENTS clients"
  local ticks0 wal0 ticks1 wal1
  wal0=$(psql_url "$BENCH_URL" -At -c 'select wal_bytes from pg_stat_wal')
  ticks0=$(bench_server_ticks)
  (eval "$env" && pgbench -T "$BENCH_SECONDS" "${args[@]}") >"$out" 2>&1 ||
    { tail -20 "$out" >&2; die "pgbench run $id failed (log: $out)"; }
  sleep 0.5 # the backends exit and are reaped: their CPU moves to the postmaster's account
  ticks1=$(bench_server_ticks)
  wal1=$(psql_url "$BENCH_URL" -At -c 'select wal_bytes from pg_stat_wal')
  local tps lat txns cpu wal
  tps=$(sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\).*/\1/p' "$out")
  lat=$(sed -nE 's/^latency average = ([0-9.]+) ms.*/\1/p' "$out")
  txns=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$out")
  [ -n "$tps" ] && [ -n "$txns" ] && [ "$txns" -gt 0 ] || die "no transactions in the output of $id (log: $out)"
  cpu=$(awk -v a="$ticks0" -v b="$ticks1" -v n="$txns" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (b - a) * 1e6 / hz / n }')
  wal=$(awk -v a="$wal0" -v b="$wal1" -v n="$txns" 'BEGIN { printf "%.0f", (b - a) / n }')
  bench_record "$id" "$label" "$tps" "$lat" "$txns" "$cpu" "$wal"
}

# bench_record ID LABEL TPS [LATENCY_MS] [TRANSACTIONS] [CPU_US_PER_TXN] [WAL_BYTES_PER_TXN]:
# record a result so that it joins the table and the ratios. bench_pgbench calls it; a section
# that measures another way (e.g. an HTTP load generator) calls it directly, leaving out or
# passing "-" for what it does not know.
bench_record() {
  printf '%s\t%s\t%.1f\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:--}" "${6:--}" "${7:--}" "${5:--}" >>"$BENCH_RESULTS"
  if [ "${6:--}" = - ]; then
    printf '    %.1f tps\n' "$3" >&2
  else
    printf '    %.1f tps, server CPU %s us/txn, WAL %s B/txn\n' "$3" "$6" "${7:--}" >&2
  fi
}

# Fields of a recorded result: 3 tps, 4 latency, 5 CPU us/txn, 6 WAL bytes/txn, 7 transactions.
bench_field() { awk -F'\t' -v id="$1" -v f="$2" '$1 == id { print $f }' "$BENCH_RESULTS"; }
bench_tps() { bench_field "$1" 3; } # bench_tps ID -> tps of run ID (empty when not run)

# bench_ratio LABEL NUMERATOR-ID DENOMINATOR-ID [TARGET]: tps(numerator)/tps(denominator), met
# when >= TARGET. Also shows the same comparison in server CPU per transaction (denominator's
# CPU / numerator's), which the machine's noise moves much less.
bench_ratio() {
  local num den cnum cden
  num=$(bench_field "$2" 3)
  den=$(bench_field "$3" 3)
  cnum=$(bench_field "$2" 5)
  cden=$(bench_field "$3" 5)
  [ -n "$num" ] && [ -n "$den" ] || die "bench_ratio $1: no result for $2 or $3"
  awk -v l="$1" -v n="$num" -v d="$den" -v cn="$cnum" -v cd="$cden" -v t="${4:--}" 'BEGIN {
    r = n / d
    c = (cn + 0 > 0 && cd + 0 > 0) ? sprintf("%.2f", cd / cn) : "-"
    met = (t == "-") ? "-" : (r >= t + 0 ? "yes" : "no")
    printf "%s\t%.2f\t%s\t%s\t%s\n", l, r, c, t, met }' >>"$BENCH_RATIOS"
}

# bench_target LABEL VALUE TARGET: a target on one value (e.g. events/s), in the same table.
# Values below 10 (ratios) keep two decimals.
bench_target() {
  awk -v l="$1" -v v="$2" -v t="$3" 'BEGIN {
    printf "%s\t" (v + 0 < 10 ? "%.2f" : "%.1f") "\t-\t%s\t%s\n", l, v, t, (v + 0 >= t + 0 ? "yes" : "no") }' >>"$BENCH_RATIOS"
}

# bench_verify SECTION: the runs must leave a correct ledger (a benchmark of wrong results
# measures nothing): stops the whole run when verify_token_ledger() reports any user.
bench_verify() {
  local bad
  bad=$(bench_sql -c 'select count(*) from public.verify_token_ledger()' -At)
  [ "$bad" = 0 ] || die "$1: verify_token_ledger() reports $bad users out of balance after the runs"
}

# bench_fact LABEL VALUE [UNIT]: a measured quantity that is not a rate (bytes per row, a load
# time, a median of repeats), printed in a table of its own (docs/scaling.md uses them).
bench_fact() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$BENCH_FACTS"; }

# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------

bash "$ROOT/scripts/install.sh"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$BENCH_KEEP" = 1 ] && [ $rc -eq 0 ]; then
    log "kept the bench cluster: $BENCH_URL (npm stop stops it; the next bench run replaces it)"
  else
    log "destroying the bench cluster"
    api_stop bench-
    cluster_destroy bench || true
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "creating the bench cluster (durable: fsync on)"
cluster_destroy bench # a leftover from an interrupted run
cluster_start bench "$BENCH_DB_PORT"
apply_compat "$BENCH_DB_PORT"
db_push "$BENCH_URL"

sections=()
for f in "$BENCH_DIR"/[0-9][0-9]-*.sh; do
  name=$(basename "$f" .sh)
  name=${name#[0-9][0-9]-}
  # A section with the line `# bench: opt-in` runs only when BENCH_ONLY names it.
  if [[ " $BENCH_ONLY " == *" $name "* ]] || { [ -z "$BENCH_ONLY" ] && ! grep -qx '# bench: opt-in' "$f"; }; then
    sections+=("$name")
    log "section $name"
    # shellcheck source=/dev/null
    source "$f"
  fi
done
[ ${#sections[@]} -gt 0 ] || die "no section matches BENCH_ONLY='$BENCH_ONLY' (see bench/NN-name.sh)"

# ---------------------------------------------------------------------------------------------
# Report (Markdown, ready for docs/benchmarks.md)
# ---------------------------------------------------------------------------------------------

pg_version=$(psql_url "$BENCH_URL" -At -c 'show server_version')
fsync=$(psql_url "$BENCH_URL" -At -c "select current_setting('fsync') || ', synchronous_commit ' || current_setting('synchronous_commit')")
echo
echo "## Results $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "PostgreSQL $pg_version, fsync $fsync; $(nproc) cores; ${BENCH_CLIENTS} clients, ${BENCH_JOBS} threads," \
  "${BENCH_SECONDS}s per run after a ${BENCH_WARMUP}s warm-up and a checkpoint; $BENCH_PROTOCOL protocol;" \
  "sections: ${sections[*]}."
echo
echo "| run | benchmark | tps | mean latency (ms) | server CPU (us/txn) | WAL (bytes/txn) | transactions |"
echo "|---|---|---:|---:|---:|---:|---:|"
awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$BENCH_RESULTS"
if [ -s "$BENCH_RATIOS" ]; then
  echo
  echo "| ratio or target | value (tps ratio) | same in server CPU/txn | target | met |"
  echo "|---|---:|---:|---:|---|"
  # Lines of 4 fields (label, value, target, met) are targets a section wrote itself.
  awk -F'\t' '{
    if (NF == 4) { $5 = $4; $4 = $3; $3 = "-" }
    printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, ($4 == "-" ? "-" : ">= " $4), $5 }' "$BENCH_RATIOS"
fi
if [ -s "$BENCH_FACTS" ]; then
  echo
  echo "| measured | value | unit |"
  echo "|---|---:|---|"
  awk -F'\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }' "$BENCH_FACTS"
fi
echo
echo "Load: $(uptime | sed 's/.*load average/load average/') ($(nproc) cores) at the end of the run."
echo
log "pgbench logs: $BENCH_LOGS"
