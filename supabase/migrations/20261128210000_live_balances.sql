-- Live balances: clients subscribe to their own token_balances row with Supabase Realtime
-- (postgres_changes). Realtime streams the tables of the `supabase_realtime` publication and
-- delivers each change only to subscribers whose RLS lets them select the row, so the policy
-- "users read their own rows" decides: a user receives their own row and nobody else's.
--
-- The publication exists on every Supabase database (created empty by the platform, owned by
-- postgres); on a plain Postgres without it this migration does nothing, and still applies.
-- Safe to apply twice. (supabase/tests/deno/live_balances.test.ts applies this file to a
-- database with and without the publication.)
--
-- What the row says and how a client reads it: docs/api.md#live-balances. In short, every
-- change of the user's tokens or holds writes the row (an event), and what the user can spend
-- is max(balance - held, 0) while now < next_due_at; from then on get_token_balance() until
-- the next write.
do $$
begin
  if exists (select 1 from pg_catalog.pg_publication p where p.pubname = 'supabase_realtime')
     and not exists (select 1 from pg_catalog.pg_publication_tables pt
                     where pt.pubname = 'supabase_realtime' and pt.schemaname = 'public'
                       and pt.tablename = 'token_balances') then
    alter publication supabase_realtime add table public.token_balances;
  end if;
end
$$;
