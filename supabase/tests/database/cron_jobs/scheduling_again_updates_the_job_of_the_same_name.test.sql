-- Re-running the migration's scheduling statements does not duplicate jobs: cron.schedule()
-- with a job name updates the job of that name (same jobid), so the migration can run twice.
begin;
select plan(3);

create temp table before_jobs on commit drop as
  select jobid, jobname from cron.job where jobname in ('token-drips', 'token-expiry', 'cron-history-cleanup');

-- The scheduling statements of the cron_jobs migration, again.
select cron.schedule('token-drips', '*/5 * * * *', 'select public.run_due_drips(now(), 5000)');
select cron.schedule('token-expiry', '*/5 * * * *', 'select public.expire_tokens(now())');
select cron.schedule(
  'cron-history-cleanup', '17 3 * * *',
  $$delete from cron.job_run_details where end_time < now() - interval '7 days'$$
);

select results_eq(
  $$select jobname::text collate "default", count(*)::int from cron.job where jobname in ('token-drips', 'token-expiry', 'cron-history-cleanup')
     group by jobname order by jobname$$,
  $$values ('cron-history-cleanup'::text, 1), ('token-drips', 1), ('token-expiry', 1)$$,
  'still one job of each name');
select set_eq(
  $$select jobid, jobname from cron.job where jobname in ('token-drips', 'token-expiry', 'cron-history-cleanup')$$,
  $$select jobid, jobname from before_jobs$$,
  'the same jobs (same jobids) as before');
select results_eq(
  $$select jobname::text collate "default", schedule, command from cron.job where jobname in ('token-drips', 'token-expiry', 'cron-history-cleanup') order by jobname$$,
  $$values ('cron-history-cleanup'::text, '17 3 * * *'::text, $c$delete from cron.job_run_details where end_time < now() - interval '7 days'$c$::text),
           ('token-drips', '*/5 * * * *', 'select public.run_due_drips(now(), 5000)'),
           ('token-expiry', '*/5 * * * *', 'select public.expire_tokens(now())')$$,
  'with the same schedules and commands');

select * from finish();
rollback;
