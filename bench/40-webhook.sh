# shellcheck shell=bash
# Stripe webhook (issue 5): signed checkout.session.completed events over HTTP through the
# served stripe-webhook function (scripts/local/functions-serve.ts, the real handler in its own
# Deno process) into public.handle_stripe_event on the bench cluster, at each concurrency level.
#   (w1) concurrency 1        (w10) concurrency 10: target >= 200 events/s
# Every event is new (event, session and payment intent ids), so each one is a purchase.
# Sourced by scripts/bench.sh, which defines the bench_* helpers.

WEBHOOK_EVENTS=${BENCH_WEBHOOK_EVENTS:-1000}
WEBHOOK_CONCURRENCY=${BENCH_WEBHOOK_CONCURRENCY:-1 10}
WEBHOOK_USERS=${BENCH_WEBHOOK_USERS:-1000}
WEBHOOK_WARMUP=${BENCH_WEBHOOK_WARMUP:-100} # events sent before the measured levels
WEBHOOK_TARGET=${BENCH_WEBHOOK_TARGET:-200} # events/s at concurrency 10

log "webhook: $WEBHOOK_USERS buyers and a pack"
bench_sql setup-webhook.sql -v nusers="$WEBHOOK_USERS" >/dev/null
before=$(bench_sql -c "select count(*) from public.token_transactions where transaction_type = 'purchase'" -At)

log "webhook: $WEBHOOK_EVENTS events per level, concurrency $WEBHOOK_CONCURRENCY"
# One line per level on the terminal (stderr, also kept in webhook.log); the numbers on stdout.
(cd "$ROOT" && NO_COLOR=1 deno run --allow-all --quiet bench/webhook.ts --db "$BENCH_URL" \
  --admin-db "$(db_admin_url_for "$BENCH_DB_PORT")" \
  --events "$WEBHOOK_EVENTS" --concurrency "$WEBHOOK_CONCURRENCY" --warmup "$WEBHOOK_WARMUP" \
  --clk-tck "$(getconf CLK_TCK)") \
  >"$BENCH_LOGS/webhook.tsv" 2> >(tee "$BENCH_LOGS/webhook.log" >&2) ||
  die "webhook: bench/webhook.ts failed (log: $BENCH_LOGS/webhook.log)"

# Server CPU and WAL are the database's, per event (the function's own CPU is in webhook.log).
while IFS=$'\t' read -r c n _secs rate mean p50 p99 cpu wal _function_cpu; do
  bench_record "w$c" "webhook: $n signed checkout.session.completed over HTTP, concurrency $c (p50 $p50 ms, p99 $p99 ms)" \
    "$rate" "$mean" "$n" "$cpu" "$wal"
done <"$BENCH_LOGS/webhook.tsv"

# Every event made exactly one purchase, and the ledger adds up.
levels=$(wc -l <"$BENCH_LOGS/webhook.tsv")
after=$(bench_sql -c "select count(*) from public.token_transactions where transaction_type = 'purchase'" -At)
[ "$levels" -gt 0 ] || die "webhook: no result line in $BENCH_LOGS/webhook.tsv"
expected=$((levels * WEBHOOK_EVENTS + WEBHOOK_WARMUP)) # the warm-up's events are purchases too
[ $((after - before)) -eq "$expected" ] || die "webhook: $((after - before)) purchases for $expected events"
bench_verify webhook

# The target, in the table of ratios and targets, when concurrency 10 was measured.
w10=$(bench_tps w10)
[ -z "$w10" ] || bench_target "(w10) webhook events/s at concurrency 10" "$w10" "$WEBHOOK_TARGET"
