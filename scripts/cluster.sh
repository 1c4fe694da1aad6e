# Project-local PostgreSQL clusters (no Docker): one for `npm start` (dev), a throw-away one
# for `npm test`, one for `npm run bench`. Sourced after lib.sh.
# shellcheck shell=bash

# cluster_dir NAME -> the folder of cluster NAME (pgdata, socket, log)
cluster_dir() { echo "$(state_dir)/$1"; }

# Names of the clusters this checkout has (any that was ever initialised), for `npm stop`.
cluster_names() {
  local d
  for d in "$(state_dir)"/*/pgdata; do
    [ -d "$d" ] && basename "$(dirname "$d")"
  done
  return 0
}

# Written into a cluster folder at initdb. A cluster without it was made when `postgres` was
# the bootstrap superuser: it cannot be turned into Supabase's layout in place.
CLUSTER_LAYOUT="supabase_admin superuser, postgres not"

cluster_running() { # name port
  local dir
  dir=$(cluster_dir "$1")
  [ -f "$dir/pgdata/postmaster.pid" ] && as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/pgdata" status >/dev/null 2>&1 &&
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$2" -t 5
}

# cluster_init NAME PORT [fast]: initdb with pg_cron preloaded. "fast" trades durability for
# speed (fsync off): only for the disposable test cluster.
cluster_init() {
  local name=$1 port=$2 mode=${3:-durable} dir
  dir=$(cluster_dir "$name")
  mkdir -p "$dir"
  is_root && chown postgres: "$dir"
  local pwfile
  pwfile=$(mktemp)
  echo "$DB_PASSWORD" >"$pwfile"
  chmod 644 "$pwfile"
  # The bootstrap superuser is supabase_admin, as on Supabase; supabase-compat.sql creates
  # `postgres` without superuser.
  as_pg_owner "$PG_BIN/initdb" -D "$dir/pgdata" -U supabase_admin --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { rm -f "$pwfile"; cat "$dir/initdb.log" >&2; die "initdb failed for the $name cluster"; }
  rm -f "$pwfile"
  echo "$CLUSTER_LAYOUT" >"$dir/layout"
  {
    echo "# token ledger: $name cluster"
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "max_connections = 200"
    echo "shared_buffers = 256MB"
    echo "shared_preload_libraries = 'pg_cron'"
    echo "cron.database_name = 'postgres'"
    # pg_cron runs each job in a libpq session as the job's user, as on Supabase. There it
    # connects to localhost, which Supabase's pg_hba.conf trusts; here TCP wants a password
    # (and no job has one), so the scheduler connects through this cluster's own socket
    # directory, where local connections are trusted. (Background workers would work too, but
    # Supabase does not run jobs that way: no client session, a max_worker_processes pool.)
    echo "cron.host = '$dir'"
    echo "cron.timezone = 'UTC'"
    echo "timezone = 'UTC'"
    echo "log_min_messages = warning"
    if [ "$mode" = fast ]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } | as_pg_owner tee -a "$dir/pgdata/postgresql.conf" >/dev/null
}

cluster_start() { # name port [fast]
  local name=$1 port=$2 dir
  dir=$(cluster_dir "$name")
  if cluster_running "$name" "$port"; then return 0; fi
  if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; then
    die "port $port is taken by another server; stop it or set DB_PORT/TEST_DB_PORT"
  fi
  [ -f "$dir/pgdata/PG_VERSION" ] || cluster_init "$@"
  [ "$(cat "$dir/layout" 2>/dev/null)" = "$CLUSTER_LAYOUT" ] ||
    die "the $name cluster was created when postgres was a superuser; rebuild it with \`npm run db:reset\` (its data is lost)"
  log "starting the $name cluster on 127.0.0.1:$port"
  # Our ports lie in Linux's ephemeral range, so an outgoing connection can hold one for a
  # moment ("Address already in use"): try again a few times before giving up.
  local attempt
  for attempt in 1 2 3 4 5; do
    as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 60 start >/dev/null && return 0
    tail -5 "$dir/postgres.log" | grep -q 'could not create any TCP/IP sockets' || break
    log "port $port is busy for a moment; retrying ($attempt)"
    sleep 2
  done
  tail -20 "$dir/postgres.log" >&2
  die "the $name cluster did not start (log: $dir/postgres.log)"
}

cluster_stop() { # name
  local dir
  dir=$(cluster_dir "$1")
  [ -f "$dir/pgdata/postmaster.pid" ] || return 0 # never started, or already stopped
  # fast: roll back open sessions and stop now; a dev database has nothing worth waiting for.
  if ! as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/pgdata" -m fast -w -t 60 stop >/dev/null 2>&1; then
    # pg_ctl also fails on a stale postmaster.pid (a crash, a reboot): only a live server is an error.
    if as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/pgdata" status >/dev/null 2>&1; then
      die "the $1 cluster did not stop (log: $dir/postgres.log)"
    fi
  fi
}

cluster_destroy() { # name
  cluster_stop "$1"
  rm -rf "$(cluster_dir "$1")"
}

# Apply the Supabase compatibility layer (plain Postgres only), then migrations and seed
# with the pinned Supabase CLI so that the migration history is kept as Supabase keeps it.
apply_compat() { # port: as the cluster's superuser, the platform's part
  psql_url "$(db_admin_url_for "$1")" -f "$ROOT/scripts/local/supabase-compat.sql" >/dev/null
}

# The CLI's chatter (prompts answered by --yes, one line per file) goes to a log, shown on failure.
# One log per run: `npm start` and `npm test` may push at the same time.
db_push() { # url [--include-seed]
  local out
  out=$(mktemp "$(state_dir)/db-push.XXXXXX")
  if (cd "$ROOT" && supabase db push --db-url "$1" --yes "${@:2}") >"$out" 2>&1; then
    mv "$out" "$(state_dir)/db-push.log"
    # A running PostgREST rebuilds its schema cache (new RPCs, changed signatures), as Supabase
    # recommends after a migration; a NOTIFY nobody listens to costs nothing.
    psql_url "$1" -c "notify pgrst, 'reload schema'" >/dev/null
  else
    cat "$out" >&2
    rm -f "$out"
    die "supabase db push failed"
  fi
}
