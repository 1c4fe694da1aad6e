-- The reconciliation RPCs and their table are the service's: anon has no EXECUTE, a user and
-- an admin get 42501 and read nothing of ledger_reconciliation_runs; the service reads both.
begin;
select plan(10);

select tests.create_user('reconcile-roles@example.test', '00000000-0000-4000-8b0c-000000000001');
select tests.create_user('reconcile-roles-admin@example.test', '00000000-0000-4000-8b0c-000000000002');

select ok(not has_function_privilege('anon', 'public.reconcile_token_ledger(uuid, boolean)', 'execute')
          and not has_function_privilege('anon', 'public.run_ledger_reconciliation()', 'execute'),
  'anon has no EXECUTE on the reconciliation RPCs');
select ok(not has_function_privilege('authenticated', 'public.reconcile_token_ledger(uuid, boolean)', 'execute')
          and not has_function_privilege('authenticated', 'public.run_ledger_reconciliation()', 'execute'),
  'authenticated has no EXECUTE on them either');
select ok(not has_table_privilege('anon', 'public.ledger_reconciliation_runs', 'select')
          and not has_table_privilege('authenticated', 'public.ledger_reconciliation_runs', 'select')
          and has_table_privilege('service_role', 'public.ledger_reconciliation_runs', 'select')
          and not has_table_privilege('service_role', 'public.ledger_reconciliation_runs', 'insert'),
  'only the service reads the runs, and nobody writes them but the job');
select tests.authenticate_as_anon();
select throws_ok($$select * from public.reconcile_token_ledger()$$, '42501', null, 'anon cannot reconcile');
select tests.authenticate_as('00000000-0000-4000-8b0c-000000000001');
select throws_ok($$select * from public.reconcile_token_ledger('00000000-0000-4000-8b0c-000000000001')$$, '42501', null,
  'a user cannot reconcile, not even their own ledger');
select throws_ok($$select public.run_ledger_reconciliation()$$, '42501', null, 'a user cannot run the job');
select tests.authenticate_as_admin('00000000-0000-4000-8b0c-000000000002');
select throws_ok($$select * from public.reconcile_token_ledger('00000000-0000-4000-8b0c-000000000001')$$, '42501', null,
  'an admin cannot reconcile');
select throws_ok($$select public.run_ledger_reconciliation()$$, '42501', null, 'an admin cannot run the job');
select tests.authenticate_as_service_role();
select is((select problems from public.reconcile_token_ledger('00000000-0000-4000-8b0c-000000000001')), '{}'::text[],
  'the service reconciles a user');
select is(public.run_ledger_reconciliation() ->> 'status', 'ok', 'the service runs the job');

select * from finish();
rollback;
