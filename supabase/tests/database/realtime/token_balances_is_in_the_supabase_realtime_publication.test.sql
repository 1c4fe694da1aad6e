-- Live balances: token_balances is in the supabase_realtime publication (which Supabase
-- creates and the local compatibility layer mirrors), so Supabase Realtime streams every
-- change of a balance row. Realtime delivers a change only to subscribers whose RLS lets them
-- select the row, so every published table of ours has row level security, and
-- token_balances' one policy lets a signed-in user select only its own row.
-- (That the migration also applies without the publication: supabase/tests/deno/live_balances.test.ts.)
begin;
select plan(6);

select ok(exists (select 1 from pg_publication where pubname = 'supabase_realtime'),
  'the supabase_realtime publication exists');
select ok(exists (select 1 from pg_publication_tables
                   where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'token_balances'),
  'token_balances is published');
select is(
  (select array_agg(format('%I.%I', pt.schemaname, pt.tablename) order by pt.schemaname, pt.tablename)
     from pg_publication_tables pt join pg_class c on c.oid = format('%I.%I', pt.schemaname, pt.tablename)::regclass
    where pt.pubname = 'supabase_realtime' and pt.schemaname in ('public', 'private') and not c.relrowsecurity),
  null, 'every published table has row level security');
select results_eq(
  $$select pubinsert, pubupdate, pubdelete from pg_publication where pubname = 'supabase_realtime'$$,
  $$values (true, true, true)$$,
  'inserts, updates and deletes are published');
select is(
  (select relreplident::text from pg_class where oid = 'public.token_balances'::regclass), 'd',
  'changes carry the primary key (replica identity default), which Realtime needs for updates and deletes');
select policies_are('public', 'token_balances', array['users read their own rows'],
  'one policy decides what Realtime delivers: users read their own rows');

select * from finish();
rollback;
