#!/usr/bin/env bash
# Installs what the local stack needs and is missing: Debian packages and npm dependencies.
# Nothing is downloaded from anywhere but Debian's archive and the npm registry.
source "$(dirname "$0")/lib.sh"

# `npm start` and `npm test` may run at once in a fresh clone: one installs, the other waits.
exec 9<"$ROOT/package-lock.json"
flock 9

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  if is_root && command -v apt-get >/dev/null; then
    sudo=()
  elif command -v apt-get >/dev/null && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n env DEBIAN_FRONTEND=noninteractive) # passwordless sudo: as good as root
  else
    # No way to install without a password: say exactly what to run, change nothing.
    cat >&2 <<MSG
error: these Debian packages are missing: ${missing[*]}
This script installs them only as root or with passwordless sudo. Run:

    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}

then run this command again.
MSG
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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
