#!/usr/bin/env bash
# Installs what the local stack needs and is missing: Debian packages and npm dependencies.
# Nothing is downloaded from anywhere but Debian's archive and the npm registry.
source "$(dirname "$0")/lib.sh"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  if is_root && command -v apt-get >/dev/null; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then
    log "installing Debian packages with sudo: ${missing[*]}"
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    cat >&2 <<MSG
error: these Debian packages are missing and this script cannot install them (it needs root or passwordless sudo, and apt-get):

    sudo apt-get install -y ${missing[*]}

Run that, then run this command again. Or point the project at another Postgres with SUPABASE_DB_URL.
MSG
    exit 1
  fi
fi

[ -x "$PG_BIN/initdb" ] || die "PostgreSQL $PG_VERSION binaries not found in $PG_BIN"

# npm dependencies: the Supabase CLI (pinned), Deno, and postgres-meta's type generator.
# `npm ci` only when node_modules was not installed from this exact lock file.
stamp="$ROOT/node_modules/.installed-lock.sha1"
want=$(sha1sum "$ROOT/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing npm dependencies (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
fi
