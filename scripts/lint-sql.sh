#!/usr/bin/env bash
# `npm run lint:sql` (and a step of `npm test`): the SQL files below through the Postgres
# Language Server's CLI (`postgrestools check`, config in postgres-language-server.jsonc). Each
# file is parsed by Postgres's own parser and linted; a syntax error or any warning fails.
#
# Why a linter and no formatter (evaluated 2026-11 on this repository's SQL):
#   * postgrestools 0.25.7 `format` (the newest on npm): keeps plpgsql bodies and checks that
#     the formatted AST equals the original, but rewrites `::` casts and `interval '..'` as
#     cast(...), upper-cases role names, explodes VALUES rows and pgTAP calls one argument per
#     line (supabase/tests: 9,020 -> 21,239 lines; `duplicates`: 204 -> 493 pairs), and refuses
#     `alter table ... add column if not exists` (4 errors in the migrations).
#   * sql-formatter 15.9.0: `plan (26)` for every non-builtin function, `set search_path` split
#     over lines as if it were a list; tests 2.5 times longer.
#   * pg_format 5.5 (psqlformat 1.21.0 vendors it; npm's pg-formatter downloads it at install,
#     which cannot work here): reformats plpgsql bodies (`:=(`, `'{}' ::jsonb`); `duplicates`
#     204 -> 818 pairs.
#   * prettier-plugin-sql-cst 0.22.1: cannot parse pgTAP's `is(...)`.
# The config keeps the formatter off until one keeps Postgres idioms; then add it here.
source "$(dirname "$0")/lib.sh"

# Every SQL file of the repository. The migrations get the safety rules too (locks, rewrites):
# a new migration that locks a table without a lock timeout, or rewrites one, fails here until
# it is fixed or carries a `-- pgt-ignore ...: reason` saying why it must be so. Today only the
# legacy upgrade (supabase/migrations/*_schema.sql) carries such reasons, at its top.
paths=(
  supabase/migrations
  supabase/tests
  supabase/upgrade_test
  supabase/seed.sql
  scripts/local
)

cd "$ROOT"
postgrestools check --error-on-warnings --max-diagnostics=50 "${paths[@]}"
