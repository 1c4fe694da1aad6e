-- The pg_cron jobs of issue 4 exist, active, in this database, with their exact schedules and
-- commands: token-drips and token-expiry every 5 minutes, cron-history-cleanup daily.
begin;
select plan(5);

select has_extension('pg_cron', 'pg_cron is installed');
select results_eq(
  $$select jobname::text collate "default", schedule, command, active, database = current_database()
      from cron.job where jobname in ('token-drips', 'token-expiry', 'cron-history-cleanup') order by jobname$$,
  $$values ('cron-history-cleanup'::text, '17 3 * * *'::text,
            $c$delete from cron.job_run_details where end_time < now() - interval '7 days'$c$::text, true, true),
           ('token-drips', '*/5 * * * *', 'select public.run_due_drips(now(), 5000)', true, true),
           ('token-expiry', '*/5 * * * *', 'select public.expire_tokens(now())', true, true)$$,
  'the three jobs, with exact schedules and commands, active in this database');
select is(
  (select count(*)::int from cron.job where jobname in ('token-drips', 'token-expiry', 'cron-history-cleanup')), 3,
  'each job exists once');
select ok(
  (select bool_and(r.rolsuper or r.rolbypassrls) from cron.job j join pg_roles r on r.rolname = j.username
    where j.jobname in ('token-drips', 'token-expiry')),
  'the drip and expiry jobs run as a role the ledger trusts like the service');
select has_function('public', 'run_due_drips', array['timestamp with time zone', 'integer'], 'the drip job''s function exists');

select * from finish();
rollback;
