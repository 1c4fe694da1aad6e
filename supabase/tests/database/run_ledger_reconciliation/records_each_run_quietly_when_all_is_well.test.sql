-- run_ledger_reconciliation (the ledger-reconciliation cron job) records each run in
-- ledger_reconciliation_runs: 'ok' and no problems when all is well (and no warning); with a
-- problem, status 'problems', the users' reports, and a WARNING in the log. The job is
-- scheduled daily with pg_cron.
begin;
select plan(6);

-- The test database may hold other tests' committed users; start from a healthy ledger by
-- counting only what this test changes.
select tests.create_user('reconcile-run@example.test', '00000000-0000-4000-8b0d-000000000001');
select public.grant_tokens('00000000-0000-4000-8b0d-000000000001', 100, 'admin_grant', 'reconcile-run-g');
set local client_min_messages = error; -- the run with a problem warns (the point), not in the test output
select set_config('test.before', (select count(*)::text from public.reconcile_token_ledger()), true);

select set_config('test.run1', public.run_ledger_reconciliation()::text, true);
select results_eq(
  $$select status, users_with_problems, problems from public.ledger_reconciliation_runs where id = (current_setting('test.run1')::jsonb ->> 'run_id')::uuid$$,
  $$select case when current_setting('test.before') = '0' then 'ok' else 'problems' end, current_setting('test.before')::int,
           (select coalesce(jsonb_agg(to_jsonb(r) order by r.user_id), '[]'::jsonb) from public.reconcile_token_ledger() r)$$,
  'a run is recorded with its status and the reports of the users with problems');
select is((select users_checked from public.ledger_reconciliation_runs where id = (current_setting('test.run1')::jsonb ->> 'run_id')::uuid),
  (select count(*)::int from public.token_balances), 'it says how many users it checked');

update public.token_balances set balance = balance + 1 where user_id = '00000000-0000-4000-8b0d-000000000001';
select set_config('test.run2', public.run_ledger_reconciliation()::text, true);
select is((current_setting('test.run2')::jsonb - 'run_id' - 'users_checked'),
  jsonb_build_object('status', 'problems', 'users_with_problems', current_setting('test.before')::int + 1),
  'a damaged balance makes the next run report a problem');
select ok(exists (select 1 from public.ledger_reconciliation_runs r, jsonb_array_elements(r.problems) p
                   where r.id = (current_setting('test.run2')::jsonb ->> 'run_id')::uuid
                     and p ->> 'user_id' = '00000000-0000-4000-8b0d-000000000001'),
  'the run lists the damaged user''s report');

select results_eq($$select schedule, command, active from cron.job where jobname = 'ledger-reconciliation'$$,
  $$values ('41 4 * * *'::text, 'select public.run_ledger_reconciliation()'::text, true)$$,
  'the ledger-reconciliation job runs daily at 04:41 UTC');
select ok((select r.rolsuper or r.rolbypassrls from cron.job j join pg_roles r on r.rolname = j.username
            where j.jobname = 'ledger-reconciliation'), 'the job runs as a role trusted like the service');

select * from finish();
rollback;
