# The local functions server (Deno), a stand-in for Supabase's edge runtime. Sourced after lib.sh.
# shellcheck shell=bash

functions_pidfile() { echo "$(state_dir)/functions.pid"; }
functions_log() { echo "$(state_dir)/functions.log"; }

functions_running() {
  local pid
  pid=$(cat "$(functions_pidfile)" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && curl -fsS -m 2 "http://127.0.0.1:$API_PORT/functions/v1/health" >/dev/null 2>&1
}

# functions_env DB_URL: the environment Supabase gives a function.
functions_env() {
  echo "SUPABASE_URL=http://127.0.0.1:$API_PORT"
  echo "SUPABASE_DB_URL=$1"
  echo "SUPABASE_ANON_KEY=$(make_jwt anon)"
  echo "SUPABASE_SERVICE_ROLE_KEY=$(make_jwt service_role)"
  echo "STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-$STRIPE_WEBHOOK_SECRET_LOCAL}"
}

functions_start() { # db_url
  if functions_running; then return 0; fi
  functions_stop
  if curl -s -m 1 -o /dev/null "http://127.0.0.1:$API_PORT/" 2>/dev/null; then
    die "port $API_PORT is taken by another server; stop it or set API_PORT"
  fi
  log "serving functions on http://127.0.0.1:$API_PORT/functions/v1/"
  (
    cd "$ROOT"
    set -a
    # shellcheck disable=SC1090
    source <(functions_env "$1")
    set +a
    setsid nohup deno run --allow-all --quiet scripts/local/functions-serve.ts --port "$API_PORT" \
      >"$(functions_log)" 2>&1 </dev/null &
    echo $! >"$(functions_pidfile)"
  )
  for _ in $(seq 1 120); do
    functions_running && return 0
    kill -0 "$(cat "$(functions_pidfile)")" 2>/dev/null || break
    sleep 0.5
  done
  tail -20 "$(functions_log)" >&2
  die "the functions server did not start (log: $(functions_log))"
}

functions_stop() {
  local pid
  pid=$(cat "$(functions_pidfile)" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$(functions_pidfile)"
}
