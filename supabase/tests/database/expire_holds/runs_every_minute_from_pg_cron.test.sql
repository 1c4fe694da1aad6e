-- pg_cron runs the sweep: one job named token-holds, every minute, `select public.expire_holds(now())`,
-- active, in this database. Its command runs as written.
begin;
select plan(4);

select results_eq(
  $$select schedule, command, active from cron.job where jobname = 'token-holds'$$,
  $$values ('* * * * *'::text, 'select public.expire_holds(now())'::text, true)$$,
  'the token-holds job runs select public.expire_holds(now()) every minute');
select is((select count(*)::int from cron.job where jobname = 'token-holds'), 1, 'there is exactly one such job');
select is((select database from cron.job where jobname = 'token-holds'), current_database()::text, 'it runs in the ledger''s database');

select tests.create_user('eh-cron-alice@example.test', '00000000-0000-4000-b405-000000000001', 100);
select public.reserve_tokens('chat', 10, 'lapsed', '00000000-0000-4000-b405-000000000001');
update public.token_holds set expires_at = now() - interval '1 second' where user_id = '00000000-0000-4000-b405-000000000001';
do $$ begin execute (select command from cron.job where jobname = 'token-holds'); end $$;
select is((select status from public.token_holds where user_id = '00000000-0000-4000-b405-000000000001'), 'expired',
  'its command, run as pg_cron runs it (no role switch), expires lapsed holds');

select * from finish();
rollback;
