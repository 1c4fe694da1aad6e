# shellcheck shell=bash
# The API (issue 10): record_usage through the local gateway and PostgREST, as supabase-js calls
# it (HTTP, the anon key, a user's JWT, keep-alive connections, random users), against a no-op
# RPC through the same gateway in the same run. What the ledger costs on top of the API path.
#   (x-noop-1) no-op   (x-ru) record_usage   (x-noop-2) no-op again: target x-ru >= 0.8 x no-op
# Sourced by scripts/bench.sh, which defines the bench_* helpers.

API_USERS=${BENCH_API_USERS:-1000}
API_CLIENTS=${BENCH_API_CLIENTS:-16}
BENCH_API_PORT=${BENCH_API_PORT:-$((BENCH_DB_PORT + 1))}
BENCH_REST_PORT=${BENCH_REST_PORT:-$((BENCH_DB_PORT + 2))}
BENCH_FUNCTIONS_PORT=${BENCH_FUNCTIONS_PORT:-$((BENCH_DB_PORT + 3))}
API_TARGET=${BENCH_API_TARGET:-0.8}

log "api: $API_USERS users with a grant each, and the no-op RPC"
bench_sql setup-api.sql -v nusers="$API_USERS" -v grant=1000000000 >/dev/null
api_start bench- "$BENCH_URL" "$BENCH_API_PORT" "$BENCH_REST_PORT" "$BENCH_FUNCTIONS_PORT" \
  "$(rest_db_uri_for "$BENCH_DB_PORT")"

log "api: ${BENCH_SECONDS}s per run, $API_CLIENTS clients"
# One line per run on the terminal (stderr, also kept in api.log); the numbers on stdout.
(cd "$ROOT" && NO_COLOR=1 deno run --allow-all --quiet bench/api.ts --db "$BENCH_URL" \
  --admin-db "$(db_admin_url_for "$BENCH_DB_PORT")" --api "http://127.0.0.1:$BENCH_API_PORT" \
  --anon-key "$(make_jwt anon)" --jwt-secret "$JWT_SECRET" --gateway-pid "$(svc_pid bench-gateway gateway.ts)" \
  --seconds "$BENCH_SECONDS" --warmup "$BENCH_WARMUP" --clients "$API_CLIENTS" --clk-tck "$(getconf CLK_TCK)") \
  >"$BENCH_LOGS/api.tsv" 2> >(tee "$BENCH_LOGS/api.log" >&2) ||
  die "api: bench/api.ts failed (log: $BENCH_LOGS/api.log)"
api_stop bench-

while IFS=$'\t' read -r id rpc n _secs rate mean p50 p99 db rest_cpu gateway_cpu client_cpu; do
  bench_record "$id" "API: $rpc over HTTP, $API_CLIENTS keep-alive clients, random users (p50 $p50 ms, p99 $p99 ms; CPU us/request: PostgREST $rest_cpu, gateway $gateway_cpu, load generator $client_cpu)" \
    "$rate" "$mean" "$n" "$db"
done <"$BENCH_LOGS/api.tsv"
[ "$(wc -l <"$BENCH_LOGS/api.tsv")" -eq 3 ] || die "api: expected 3 result lines in $BENCH_LOGS/api.tsv"

bench_verify api

bench_ratio "(x-ru)/(x-noop-1) record_usage / no-op, both through the API" x-ru x-noop-1 "$API_TARGET"
bench_ratio "(x-ru)/(x-noop-2) record_usage / the no-op after it" x-ru x-noop-2 "$API_TARGET"
# The same comparison in CPU per request of the whole server side (database + PostgREST +
# gateway), which the machine's other load moves much less than requests/s: on a machine that
# the benchmark alone saturates, requests/s go as 1 / this CPU.
stack_cpu() { awk -F'\t' -v id="$1" '$1 == id { print $9 + $10 + $11 }' "$BENCH_LOGS/api.tsv"; }
bench_target "(x-noop-1 CPU)/(x-ru CPU) no-op / record_usage in server-side CPU per request ($(stack_cpu x-noop-1) / $(stack_cpu x-ru) us)" \
  "$(awk -v a="$(stack_cpu x-noop-1)" -v b="$(stack_cpu x-ru)" 'BEGIN { printf "%.2f", a / b }')" "$API_TARGET"
bench_target "(x-noop-2 CPU)/(x-ru CPU) the same with the no-op after it ($(stack_cpu x-noop-2) / $(stack_cpu x-ru) us)" \
  "$(awk -v a="$(stack_cpu x-noop-2)" -v b="$(stack_cpu x-ru)" 'BEGIN { printf "%.2f", a / b }')" "$API_TARGET"
