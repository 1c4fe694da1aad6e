# Shared settings and helpers for the local stack. Sourced by the other scripts.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SUPABASE_TELEMETRY_DISABLED=1 # the CLI reports usage by default; never from here
export DO_NOT_TRACK=1
export PATH="$ROOT/node_modules/.bin:$PATH"

PG_VERSION=15
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin
# pg_prove comes from libtap-parser-sourcehandler-pgtap-perl; curl probes the functions server
# (a minimal Debian has no curl).
# postgresql-15-partman: pg_partman, which Supabase ships too, for token_usage's partitions.
APT_PACKAGES=(postgresql-15 postgresql-15-pgtap postgresql-15-cron postgresql-15-plpgsql-check
  postgresql-15-partman libtap-parser-sourcehandler-pgtap-perl curl)

# Ports follow `supabase start`: 54321 API (the gateway), 54322 database. Behind the gateway,
# PostgREST and the functions server listen on two more ports, next to the API's by default.
API_PORT=${API_PORT:-54321}
DB_PORT=${DB_PORT:-54322}
REST_PORT=${REST_PORT:-$((API_PORT + 4))}
FUNCTIONS_PORT=${FUNCTIONS_PORT:-$((API_PORT + 5))}
# `npm test` keeps every port of a run within TEST_DB_PORT + 0..9, so that one variable moves it:
# +0 the test database, +1 the upgrade test's, +2 `npm run schema:dump`'s, +3..+5 the test API.
TEST_DB_PORT=${TEST_DB_PORT:-54330}
TEST_API_PORT=${TEST_API_PORT:-$((TEST_DB_PORT + 3))}
TEST_REST_PORT=${TEST_REST_PORT:-$((TEST_DB_PORT + 4))}
TEST_FUNCTIONS_PORT=${TEST_FUNCTIONS_PORT:-$((TEST_DB_PORT + 5))}
DB_PASSWORD=postgres

# Local-only secrets. These are the public demo values of a local Supabase stack, never real ones.
JWT_SECRET=super-secret-jwt-token-with-at-least-32-characters-long
STRIPE_WEBHOOK_SECRET_LOCAL=whsec_local_token_ledger_0123456789abcdef

# Bold arrows on a terminal only: piped output (CI logs, files) stays plain text.
if [ -t 2 ]; then
  log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
else
  log() { printf '==> %s\n' "$*" >&2; }
fi
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# Where the local clusters keep their data: .local-stack in the project (git-ignored).
# Exception: root runs the servers as the `postgres` user, and when `postgres` cannot enter the
# project (mktemp -d makes 0700 folders), the state lives in a fresh folder under /var/tmp and
# .local-stack links to it. A fresh folder per checkout means a new clone never inherits the
# data of an older checkout that stood at the same path; a link whose folder has gone (e.g.
# cleaned from /var/tmp) is replaced by a fresh one.
state_dir() {
  local link="$ROOT/.local-stack"
  if [ -d "$link" ]; then # a folder, or a link to one
    readlink -f "$link"
    return
  fi
  if is_root && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
    local dir
    dir=$(mktemp -d /var/tmp/token-ledger.XXXXXXXX)
    chmod 755 "$dir" # postgres must reach the cluster folders inside
    ln -sfn "$dir" "$link"
    echo "$dir"
  else
    rm -f "$link" # a dangling link from an earlier root run
    mkdir -p "$link"
    echo "$link"
  fi
}

# Run a PostgreSQL server binary as the cluster owner (initdb refuses root). From / because
# `postgres` may not be allowed into the current folder, and the tools complain when not.
as_pg_owner() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

db_url_for() { # port [database]
  echo "postgresql://postgres:$DB_PASSWORD@127.0.0.1:$1/${2:-postgres}?sslmode=disable"
}

# The superuser of a local cluster, `supabase_admin` as on Supabase: only for the platform's own
# set-up (scripts/local/supabase-compat.sql, extensions, checkpoints). Everything of the project
# (migrations, seed, tests, jobs) runs as `postgres`, which is not a superuser.
db_admin_url_for() { # port [database]
  echo "postgresql://supabase_admin:$DB_PASSWORD@127.0.0.1:$1/${2:-postgres}?sslmode=disable"
}

# psql against a URL, quiet, stopping at the first error.
psql_url() {
  local url=$1
  shift
  PGCONNECT_TIMEOUT=5 PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql "$url" -X -q -v ON_ERROR_STOP=1 "$@"
}

# HS256 JWT for a local role, as `supabase start` prints (anon / service_role keys).
make_jwt() {
  node -e '
    const crypto = require("node:crypto");
    const [role, secret] = process.argv.slice(1);
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const body = b64({ alg: "HS256", typ: "JWT" }) + "." + b64({ iss: "supabase-demo", role, exp: 1983812996 });
    const sig = crypto.createHmac("sha256", secret).update(body).digest("base64url");
    console.log(body + "." + sig);
  ' "$1" "$JWT_SECRET"
}

# authenticator's URL (PostgREST logs in as it) on a local cluster.
rest_db_uri_for() { # port
  echo "postgresql://authenticator:$DB_PASSWORD@127.0.0.1:$1/postgres?sslmode=disable"
}

# pg_env URL: print `export PGHOST=... PGPORT=...` for tools that take no URL (pg_prove, pgbench).
pg_env() {
  node -e '
    const u = new URL(process.argv[1]);
    const q = (s) => "'"'"'" + decodeURIComponent(s).replace(/'"'"'/g, "'"'"'\\'"'"''"'"'") + "'"'"'";
    const out = { PGHOST: u.hostname, PGPORT: u.port || "5432", PGUSER: u.username || "postgres",
      PGPASSWORD: u.password, PGDATABASE: u.pathname.slice(1) || "postgres",
      PGSSLMODE: u.searchParams.get("sslmode") || "prefer" };
    console.log(Object.entries(out).map(([k, v]) => `export ${k}=${q(v)}`).join("; "));
  ' "$1"
}

# generated_output CHECK GENERATED TARGET COMMAND: a generated file or folder into the repo.
# CHECK=1: fail, showing the difference, when the committed TARGET is not what was generated
# (npm test's drift checks); otherwise replace TARGET with it.
generated_output() {
  local check=$1 generated=$2 target=$3 command=$4 name=${3#"$ROOT"/}
  if [ "$check" = 1 ]; then
    if ! diff -ru "$target" "$generated"; then
      echo "$name is out of date: run \`$command\` and commit it" >&2
      exit 1
    fi
    echo "$name is up to date"
  else
    rm -rf "$target"
    mkdir -p "$(dirname "$target")"
    cp -r --no-preserve=mode "$generated" "$target" # mktemp made them private
    log "wrote $name"
  fi
}
