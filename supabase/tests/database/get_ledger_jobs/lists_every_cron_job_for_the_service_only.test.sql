-- get_ledger_jobs lists every pg_cron job with its schedule, command, last run and the runs
-- and failures of the last 24 hours (read from cron's tables, which the service_role cannot
-- read). Only the service: anon has no EXECUTE, a user and an admin get 42501.
begin;
select plan(5);

select tests.create_user('ledger-jobs@example.test', '00000000-0000-4000-8b0f-000000000001');
select ok(not has_function_privilege('anon', 'public.get_ledger_jobs()', 'execute')
          and not has_function_privilege('authenticated', 'public.get_ledger_jobs()', 'execute'),
  'neither anon nor authenticated has EXECUTE on get_ledger_jobs');
select tests.authenticate_as('00000000-0000-4000-8b0f-000000000001');
select throws_ok($$select * from public.get_ledger_jobs()$$, '42501', null, 'a user cannot list the jobs');
select tests.authenticate_as_admin('00000000-0000-4000-8b0f-000000000001');
select throws_ok($$select * from public.get_ledger_jobs()$$, '42501', null, 'an admin cannot list the jobs');

select tests.authenticate_as_service_role();
select bag_has($$select jobname, schedule from public.get_ledger_jobs()$$,
  $$values ('token-drips'::text, '*/5 * * * *'::text), ('token-expiry', '*/5 * * * *'), ('token-holds', '* * * * *'),
           ('cron-history-cleanup', '17 3 * * *'), ('ledger-reconciliation', '41 4 * * *')$$,
  'the service sees every job of the ledger');
select tests.clear_authentication();
-- a failed run in the last day is counted (cron's history, as the scheduler writes it)
insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
select j.jobid, nextval('cron.runid_seq'), 1, current_database(), 'postgres', j.command, 'failed', 'boom', now(), now()
  from cron.job j where j.jobname = 'ledger-reconciliation';
select tests.authenticate_as_service_role();
select results_eq($$select last_status, last_message, failures_24h from public.get_ledger_jobs() where jobname = 'ledger-reconciliation'$$,
  $$values ('failed'::text, 'boom'::text, 1::bigint)$$, 'the last run and the day''s failures are reported');

select * from finish();
rollback;
