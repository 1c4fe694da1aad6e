#!/usr/bin/env bash
# Supabase's advisors (splinter lints: security and performance) at level WARN and above.
# Fails on any finding. Usage: scripts/advisors.sh DB_URL
source "$(dirname "$0")/lib.sh"
url=${1:?usage: advisors.sh DB_URL}
out=$(cd "$ROOT" && supabase db advisors --db-url "$url" --type all --level warn --fail-on warn 2>&1)
rc=$?
echo "$out"
# Belt and braces: a JSON finding list that is not empty fails even if the exit code did not.
if [ $rc -ne 0 ] || grep -q '"level":' <<<"$out"; then
  echo "advisors reported findings" >&2
  exit 1
fi
