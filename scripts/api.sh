# The local API, as `supabase start` serves it on one port: the gateway (scripts/local/gateway.ts,
# which runs PostgREST) in front of the functions server (scripts/local/functions-serve.ts, a
# stand-in for Supabase's edge runtime). Sourced after lib.sh.
#
# A stack is named by a prefix: "" for `npm start` (files .local-stack/gateway.*, functions.*,
# rest.log), "test-" for the API of an `npm test` run. Each process runs in its own process group
# (so stopping it ends everything it started) and is reused by the next start only while it was
# started with the same settings: a changed database URL, webhook secret, port, config.toml or
# gateway code restarts it.
# shellcheck shell=bash

svc_file() { echo "$(state_dir)/$1.$2"; } # NAME EXT

# svc_pid NAME SCRIPT: the pid of the running service, only if that process still runs SCRIPT
# (after a reboot the pid in the file may belong to anything, and stopping must not kill that).
svc_pid() {
  local pid cmd
  pid=$(cat "$(svc_file "$1" pid)" 2>/dev/null) || return 1
  cmd=$({ tr '\0' ' ' <"/proc/${pid:-0}/cmdline"; } 2>/dev/null) || return 1
  [[ $cmd == *"$2"* ]] && echo "$pid"
}

svc_stop() { # NAME SCRIPT
  local pid
  if pid=$(svc_pid "$1" "$2"); then
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    # svc_pid, not kill -0: an exited process may linger as a zombie until it is reaped.
    for _ in $(seq 1 50); do svc_pid "$1" "$2" >/dev/null || break; sleep 0.1; done
    if svc_pid "$1" "$2" >/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  fi
  rm -f "$(svc_file "$1" pid)" "$(svc_file "$1" settings)"
}

# svc_start NAME SCRIPT SETTINGS PROBE MESSAGE -- COMMAND...: reuse the service when it runs with
# the same SETTINGS (a hash) and PROBE (a shell command) succeeds; otherwise log MESSAGE, (re)start
# COMMAND in the background, logging to NAME.log, and wait until PROBE succeeds.
svc_start() {
  local name=$1 script=$2 settings=$3 probe=$4
  if svc_pid "$name" "$script" >/dev/null && [ "$(cat "$(svc_file "$name" settings)" 2>/dev/null)" = "$settings" ] &&
    eval "$probe"; then
    return 0
  fi
  svc_pid "$name" "$script" >/dev/null && log "restarting $name: its settings changed"
  log "$5"
  shift 6
  svc_stop "$name" "$script"
  local attempt
  # Up to ~70 s: a port may be the local end of a client connection in TIME-WAIT (60 s on
  # Linux), which a listener cannot bind before it ends, SO_REUSEADDR or not (the client's
  # socket did not set it). Seen: the test PostgREST's port held by a test-database client's TIME-WAIT.
  for attempt in $(seq 1 14); do
    (
      cd "$ROOT" || exit 1
      # setsid: its own process group. NO_COLOR: the logs are read as text.
      NO_COLOR=1 setsid nohup "$@" >"$(svc_file "$name" log)" 2>&1 </dev/null &
      echo $! >"$(svc_file "$name" pid)"
    )
    echo "$settings" >"$(svc_file "$name" settings)"
    for _ in $(seq 1 240); do
      eval "$probe" && return 0
      svc_pid "$name" "$script" >/dev/null || break
      # Under --watch a function that fails to load does not end Deno, which waits for a fix.
      grep -q '^error: ' "$(svc_file "$name" log)" && break
      sleep 0.25
    done
    svc_stop "$name" "$script"
    # Our ports lie in Linux's ephemeral range: an outgoing connection may hold one for a moment.
    grep -qi 'in use' "$(svc_file "$name" log)" || break
    log "a port of $name is busy for a moment; retrying ($attempt)"
    sleep 5
  done
  tail -20 "$(svc_file "$name" log)" >&2
  die "$name did not start (log: $(svc_file "$name" log))"
}

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

# api_env API_PORT DB_URL: what Supabase gives a function (and the gateway its keys).
api_env() {
  echo "SUPABASE_URL=http://127.0.0.1:$1"
  echo "SUPABASE_DB_URL=$2"
  echo "SUPABASE_ANON_KEY=$(make_jwt anon)"
  echo "SUPABASE_SERVICE_ROLE_KEY=$(make_jwt service_role)"
  echo "STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-$STRIPE_WEBHOOK_SECRET_LOCAL}"
}

# What answers when the stack is up: /rest/v1/ with the anon key when PostgREST runs, else the
# health function through the gateway.
api_probe() { # API_PORT WITH_REST(0|1)
  if [ "$2" = 1 ]; then
    curl -fsS -m 2 -o /dev/null -H "apikey: $(make_jwt anon)" "http://127.0.0.1:$1/rest/v1/" 2>/dev/null
  else
    curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1/functions/v1/health" 2>/dev/null
  fi
}

# api_start PREFIX DB_URL API_PORT REST_PORT FUNCTIONS_PORT [REST_DB_URI]: serve the API; with
# REST_DB_URI (authenticator's URL) PostgREST too.
api_start() {
  local prefix=$1 db_url=$2 api_port=$3 rest_port=$4 fn_port=$5 rest_uri=${6:-} env_lines settings with_rest=0
  local fn_env keys
  [ -n "$rest_uri" ] && with_rest=1
  env_lines=$(api_env "$api_port" "$db_url")
  mapfile -t fn_env <<<"$env_lines"
  mapfile -t keys < <(grep -E '^SUPABASE_(ANON|SERVICE_ROLE)_KEY=' <<<"$env_lines")
  for p in "$api_port" "$rest_port" "$fn_port"; do
    [[ $p =~ ^[0-9]+$ ]] || die "not a port: '$p'"
  done
  if ! svc_pid "${prefix}gateway" gateway.ts >/dev/null && curl -s -m 1 -o /dev/null "http://127.0.0.1:$api_port/" 2>/dev/null; then
    die "port $api_port is taken by another server (a \`supabase start\` stack serves its own API); stop it or set API_PORT"
  fi
  # A hash, so that no password of SUPABASE_DB_URL lands on disk.
  settings=$(printf '%s\n' "$env_lines" "$fn_port" | sha1sum | cut -c1-40)
  svc_start "${prefix}functions" functions-serve.ts "$settings" \
    "curl -fsS -m 2 -o /dev/null http://127.0.0.1:$fn_port/functions/v1/health 2>/dev/null" \
    "serving functions on 127.0.0.1:$fn_port (behind the gateway)" -- \
    env "${fn_env[@]}" deno run --allow-all --quiet --watch=supabase/functions/ --no-clear-screen \
    scripts/local/functions-serve.ts --port "$fn_port"
  settings=$(cat <(printf '%s\n' "${keys[@]}" "$JWT_SECRET" "$api_port" "$rest_port" "$fn_port" "$rest_uri") \
    "$ROOT/supabase/config.toml" "$ROOT/scripts/local/gateway.ts" "$ROOT/scripts/local/jwt.ts" | sha1sum | cut -c1-40)
  local args=(--port "$api_port" --functions-port "$fn_port")
  [ $with_rest = 1 ] && args+=(--rest-port "$rest_port" --db-uri "$rest_uri" --rest-log "$(svc_file "${prefix}rest" log)")
  svc_start "${prefix}gateway" gateway.ts "$settings" "api_probe $api_port $with_rest" \
    "serving the API on http://127.0.0.1:$api_port$([ $with_rest = 1 ] && echo " (PostgREST on 127.0.0.1:$rest_port)")" -- \
    env JWT_SECRET="$JWT_SECRET" "${keys[@]}" deno run --allow-all --quiet scripts/local/gateway.ts "${args[@]}"
}

api_stop() { # PREFIX
  svc_stop "${1}gateway" gateway.ts
  svc_stop "${1}functions" functions-serve.ts
}

api_running() { # PREFIX API_PORT WITH_REST
  svc_pid "${1}gateway" gateway.ts >/dev/null && svc_pid "${1}functions" functions-serve.ts >/dev/null &&
    api_probe "$2" "$3"
}

# .local-stack/env: the dev stack's URLs and keys, for scripts and docs to load
# (`set -a; . ./.local-stack/env; set +a`; or `deno run --env-file=.local-stack/env`).
env_file() { echo "$(state_dir)/env"; }
write_env_file() {
  local api="http://127.0.0.1:$API_PORT"
  {
    echo "# Written by \`npm start\`: the local stack's URLs and keys (local demo values, never real ones)."
    printf "%s='%s'\n" \
      API_URL "$api" \
      SUPABASE_URL "$api" \
      REST_URL "$api/rest/v1" \
      FUNCTIONS_URL "$api/functions/v1" \
      ANON_KEY "$(make_jwt anon)" \
      SERVICE_ROLE_KEY "$(make_jwt service_role)" \
      SUPABASE_ANON_KEY "$(make_jwt anon)" \
      SUPABASE_SERVICE_ROLE_KEY "$(make_jwt service_role)" \
      JWT_SECRET "$JWT_SECRET" \
      STRIPE_WEBHOOK_SECRET "${STRIPE_WEBHOOK_SECRET:-$STRIPE_WEBHOOK_SECRET_LOCAL}"
    # A database of SUPABASE_DB_URL carries its own password: it is not written to disk here.
    [ -n "${SUPABASE_DB_URL:-}" ] || printf "%s='%s'\n" DB_URL "$(db_url_for "$DB_PORT")"
  } >"$(env_file)"
}
