#!/usr/bin/env bash
# `npm test`: set up like `npm start`, on a throw-away test database from migrations and seed
# with its own API (gateway, PostgREST, functions), then run every check. Ends with one line:
# `N passed, N failed`.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/cluster.sh"
source "$ROOT/scripts/api.sh"
set +e # run every step, count failures, exit non-zero at the end

bash "$ROOT/scripts/install.sh" || exit 1

if [ -n "${SUPABASE_DB_URL:-}" ]; then
  # A database the user chose (e.g. `supabase start`): it is not reset here; reset it first
  # with `supabase db reset` for a clean run.
  TEST_DB_URL=$SUPABASE_DB_URL
  TEST_ADMIN_URL=$SUPABASE_DB_URL # there, supautils lets postgres create pgTAP
  log "testing against SUPABASE_DB_URL (not reset)"
  db_push "$TEST_DB_URL" || exit 1
  # That stack's own API (`supabase start` serves it on 54321; `supabase functions serve` the
  # functions), with the same demo keys.
  TEST_API_URL=${TEST_API_URL:-http://127.0.0.1:54321}
else
  TEST_DB_URL=$(db_url_for "$TEST_DB_PORT")
  TEST_ADMIN_URL=$(db_admin_url_for "$TEST_DB_PORT") # extensions are the platform's to create
  log "resetting the test database"
  cluster_destroy test
  # The test database and its API are throw-away: gone when the run ends (KEEP_TEST_DB=1 keeps
  # both to look at; `npm stop` stops them).
  [ "${KEEP_TEST_DB:-0}" = 1 ] || trap 'api_stop test-; cluster_destroy test' EXIT
  cluster_start test "$TEST_DB_PORT" fast || exit 1
  apply_compat "$TEST_DB_PORT" || exit 1
  db_push "$TEST_DB_URL" --include-seed || exit 1
  # `supabase db lint` creates plpgsql_check if missing, which on Supabase supautils allows
  # postgres to do; here only the platform's superuser may.
  psql_url "$TEST_ADMIN_URL" -c 'create extension if not exists plpgsql_check with schema extensions' >/dev/null || exit 1
fi
export TEST_DB_URL
# The pg_cron probe (supabase/tests/cron) waits for a minutely job: schedule it now, so the
# minute passes while the other steps run, and check it last.
psql_url "$TEST_DB_URL" -c "select cron.schedule('npm-test-cron-probe', '* * * * *', 'select 1')" >/dev/null || exit 1

results=$(mktemp)
record() { echo "$1 $2 $3" >>"$results"; } # step passed failed
logdir="$(state_dir)/test-logs"
mkdir -p "$logdir"

# The run's own API on TEST_DB_PORT+3 (PostgREST +4, functions +5), started in the background
# while pgTAP runs. The Deno tests reach it as a client would: TEST_API_URL and the keys.
api_job=
if [ -z "${TEST_API_URL:-}" ]; then
  TEST_API_URL="http://127.0.0.1:$TEST_API_PORT"
  export TEST_API_GATEWAY=local # scripts/local/gateway.ts, not `supabase start`'s Kong
  api_stop test- # a leftover of an interrupted run
  (api_start test- "$TEST_DB_URL" "$TEST_API_PORT" "$TEST_REST_PORT" "$TEST_FUNCTIONS_PORT" \
    "$(rest_db_uri_for "$TEST_DB_PORT")") >"$logdir/api-start.log" 2>&1 &
  api_job=$!
fi
TEST_ANON_KEY=$(make_jwt anon)
TEST_SERVICE_ROLE_KEY=$(make_jwt service_role)
export TEST_API_URL TEST_ANON_KEY TEST_SERVICE_ROLE_KEY TEST_JWT_SECRET=$JWT_SECRET
export TEST_STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-$STRIPE_WEBHOOK_SECRET_LOCAL} # the test API's functions'

# count_tap STEP LABEL LOG RC: count the ok / not ok lines of a TAP log (pg_prove --verbose)
# as STEP's result. A file that died counts its unrun tests as failed ("Failed 13/13
# subtests"); a run that failed without any countable test (a wrong plan) still counts as one
# failure.
count_tap() {
  local step=$1 label=$2 log=$3 rc=$4 ok notok died
  ok=$(grep -cE '^ok [0-9]+' "$log")
  notok=$(grep -E '^not ok [0-9]+' "$log" | grep -vc '# TODO')
  died=$(sed -nE 's/^Failed ([0-9]+)\/[0-9]+ subtests.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  [ "$died" -gt "$notok" ] && notok=$died
  [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ] && notok=1
  if [ "$rc" -ne 0 ]; then
    grep -E '^not ok|^# |^Dubious|^psql:|ERROR|Parse errors|^Failed|^/.*\.sql \(' "$log" | grep -v '# TODO' | head -60
  fi
  record "$step" "$ok" "$notok"
  echo "$label: $ok passed, $notok failed (log: $log)"
}

# 1. pgTAP: the files `supabase test db` (CLI 2.117.0) runs, `pg_prove --ext .pg --ext .sql -r
# supabase/tests`, i.e. every .pg and .sql file anywhere under supabase/tests, in path order.
# The list comes from pg_prove itself, so a file there that is not a pgTAP test fails here as
# it would on the Docker path (generated SQL that is not a test ends in .pgsql). The first,
# supabase/tests/000_test_helpers.sql, runs on its own: it creates the shared `tests` schema
# (and checks it), which the other files then use in parallel.
psql_url "$TEST_ADMIN_URL" -c 'create extension if not exists pgtap with schema extensions' >/dev/null
log "pgTAP"
mapfile -t pgtap_files < <(pg_prove --dry --ext .pg --ext .sql -r "$ROOT/supabase/tests" | grep "^/") # --dry also echoes its options
[ "${pgtap_files[0]}" = "$ROOT/supabase/tests/000_test_helpers.sql" ] ||
  die "pgTAP: supabase/tests/000_test_helpers.sql must sort first, found ${pgtap_files[0]}"
(eval "$(pg_env "$TEST_DB_URL")" &&
  pg_prove --ext .pg --ext .sql --verbose --failures "${pgtap_files[0]}" &&
  pg_prove --ext .pg --ext .sql --verbose --failures --jobs 2 "${pgtap_files[@]:1}") \
  >"$logdir/pgtap.log" 2>&1
count_tap pgtap pgTAP "$logdir/pgtap.log" $?

# 1b. The upgrade of a legacy database (the seed's tables with rows) on its own throw-away
# cluster: every row kept, opening balances, RPCs afterwards (pgTAP).
log "legacy upgrade"
bash "$ROOT/scripts/test-upgrade.sh" >"$logdir/upgrade.log" 2>&1
count_tap upgrade "legacy upgrade" "$logdir/upgrade.log" $?

# run_deno STEP LABEL ARGS...: a `deno test` run counted as STEP (each Deno test counts as one).
run_deno() {
  local step=$1 label=$2 log="$logdir/$1.log" rc summary dp df
  shift 2
  (cd "$ROOT" && NO_COLOR=1 deno test --allow-all --quiet "$@") >"$log" 2>&1
  rc=$?
  summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
  dp=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
  df=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
  [ -z "$dp" ] && dp=0
  [ -z "$df" ] && df=0
  [ $rc -ne 0 ] && [ "$df" -eq 0 ] && df=1
  [ $rc -ne 0 ] && tail -60 "$log"
  record "$step" "$dp" "$df"
  echo "$label: $dp passed, $df failed (log: $log)"
}

# 2. Deno tests: the functions over HTTP, concurrency over real connections, the API through
# the gateway.
if [ -n "$api_job" ] && ! wait "$api_job"; then
  tail -20 "$logdir/api-start.log"
  record api 0 1
  echo "test API: FAILED to start (log: $logdir/api-start.log)"
fi
log "Deno tests"
run_deno deno Deno

# 3. Checks that count as one test each.
check() { # name command...
  local name=$1
  shift
  if "$@" >"$logdir/$name.log" 2>&1; then
    record "$name" 1 0
    echo "$name: ok"
  else
    record "$name" 0 1
    echo "$name: FAILED (log: $logdir/$name.log)"
    tail -40 "$logdir/$name.log"
  fi
}
log "checks"
check type-drift bash "$ROOT/scripts/gen-types.sh" --check "$TEST_DB_URL"
check schema-drift bash "$ROOT/scripts/schema-dump.sh" --check "$TEST_DB_URL"
check import-pins bash -c "cd '$ROOT' && deno run --allow-read --quiet scripts/check-import-pins.ts"
check docs-typecheck bash -c "cd '$ROOT' && deno check --quiet docs/examples/"
check db-lint bash -c "cd '$ROOT' && supabase db lint --db-url '$TEST_DB_URL' --schema public,private --level warning --fail-on warning"
check db-advisors bash "$ROOT/scripts/advisors.sh" "$TEST_DB_URL"
check sql-lint bash "$ROOT/scripts/lint-sql.sh"

# 4. Last, so that its minute has passed meanwhile: pg_cron's scheduler really runs jobs.
log "pg_cron"
run_deno pg-cron pg_cron supabase/tests/cron/

passed=$(awk '{s+=$2} END {print s+0}' "$results")
failed=$(awk '{s+=$3} END {print s+0}' "$results")
rm -f "$results"
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
