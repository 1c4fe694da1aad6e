# The local functions server (Deno), a stand-in for Supabase's edge runtime. Sourced after lib.sh.
# shellcheck shell=bash

functions_pidfile() { echo "$(state_dir)/functions.pid"; }
functions_log() { echo "$(state_dir)/functions.log"; }
# Which database the server was started for: a hash, so no password of SUPABASE_DB_URL lands on disk.
functions_dburl_file() { echo "$(state_dir)/functions.db-url.sha1"; }
url_hash() { printf '%s' "$1" | sha1sum | cut -c1-40; }

# The names served under /functions/v1/: folders of supabase/functions with an index.ts,
# except shared code (_shared); the same rule as scripts/local/load-function.ts.
functions_names() {
  local f
  for f in "$ROOT"/supabase/functions/*/index.ts; do
    [ -f "$f" ] || continue
    f=$(basename "$(dirname "$f")")
    case $f in _* | .*) ;; *) echo "$f" ;; esac
  done
}

# The server's pid, only if that process still is our server: after a reboot the pid in the
# file may belong to anything, and `npm stop` must not kill that.
functions_pid() {
  local pid cmd
  pid=$(cat "$(functions_pidfile)" 2>/dev/null) || return 1
  cmd=$(tr '\0' ' ' <"/proc/${pid:-0}/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *functions-serve.ts* ]] && echo "$pid"
}

functions_running() {
  functions_pid >/dev/null && curl -fsS -m 2 "http://127.0.0.1:$API_PORT/functions/v1/health" >/dev/null 2>&1
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
  # Reuse a running server, unless it was started for another database (SUPABASE_DB_URL changed).
  if functions_running && [ "$(cat "$(functions_dburl_file)" 2>/dev/null)" = "$(url_hash "$1")" ]; then
    return 0
  fi
  functions_stop
  if curl -s -m 1 -o /dev/null "http://127.0.0.1:$API_PORT/" 2>/dev/null; then
    die "port $API_PORT is taken by another server (a \`supabase start\` stack serves its own functions); stop it or set API_PORT"
  fi
  log "serving functions on http://127.0.0.1:$API_PORT/functions/v1/"
  (
    cd "$ROOT" || exit 1
    set -a
    # shellcheck disable=SC1090
    source <(functions_env "$1")
    set +a
    # setsid: its own process group, so that `npm stop` ends Deno and anything it started.
    # --watch: restart when a function changes, as `supabase functions serve` reloads.
    # NO_COLOR: the log is read as text, by people and by the check below.
    NO_COLOR=1 setsid nohup deno run --allow-all --quiet --watch=supabase/functions/ --no-clear-screen \
      scripts/local/functions-serve.ts --port "$API_PORT" >"$(functions_log)" 2>&1 </dev/null &
    echo $! >"$(functions_pidfile)"
  )
  url_hash "$1" >"$(functions_dburl_file)"
  for _ in $(seq 1 120); do
    functions_running && return 0
    functions_pid >/dev/null || break
    # Under --watch a function that fails to load does not end Deno, which waits for a fix.
    grep -q '^error: ' "$(functions_log)" && break
    sleep 0.5
  done
  tail -20 "$(functions_log)" >&2
  die "the functions server did not start (log: $(functions_log))"
}

functions_stop() {
  local pid
  if pid=$(functions_pid); then
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    # functions_pid, not kill -0: an exited server may linger as a zombie until it is reaped.
    for _ in $(seq 1 50); do functions_pid >/dev/null || break; sleep 0.1; done
    if functions_pid >/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  fi
  rm -f "$(functions_pidfile)" "$(functions_dburl_file)"
}
