#!/usr/bin/env bash
# The model suite outside `npm test` (supabase/tests/model/cli.ts):
#   npm run test:model -- --seed S --path P --replay-path R
#                                             replays one failure exactly (as the failure printed it)
#   npm run test:model -- --seconds 60        one run with a new seed
#   npm run test:long -- --minutes N          model, hostile corpus and crash rounds for N minutes,
#                                             a new seed each round; writes a short report
#   npm run test:crash -- --repeat 10         the crash round ten times in a row
# Its clusters take MODEL_DB_PORT and CRASH_DB_PORT (default TEST_DB_PORT + 6 and + 7) and are
# removed afterwards.
source "$(dirname "$0")/lib.sh"
bash "$ROOT/scripts/install.sh" || exit 1
export TEST_DB_PORT DB_PORT
cd "$ROOT" && exec deno run --allow-all supabase/tests/model/cli.ts "$@"
