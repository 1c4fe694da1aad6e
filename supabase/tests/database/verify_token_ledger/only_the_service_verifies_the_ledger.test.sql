-- Only the service verifies the ledger: anon and authenticated have no EXECUTE, and an
-- admin (a signed-in user) is refused as well.
begin;
select plan(9);

select tests.create_user('vl-roles-alice@example.test', '00000000-0000-4000-8503-000000000001', 10);
select tests.create_user('vl-roles-admin@example.test', '00000000-0000-4000-8503-000000000003');

select ok(not has_function_privilege('anon', 'public.verify_token_ledger(uuid)', 'execute'), 'anon has no EXECUTE');
select ok(not has_function_privilege('authenticated', 'public.verify_token_ledger(uuid)', 'execute'), 'authenticated has no EXECUTE');
select ok(has_function_privilege('service_role', 'public.verify_token_ledger(uuid)', 'execute'), 'service_role has EXECUTE');

select tests.authenticate_as_anon();
select throws_ok($$select * from public.verify_token_ledger()$$, '42501', null, 'anon cannot verify the ledger');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-8503-000000000001');
select throws_ok($$select * from public.verify_token_ledger('00000000-0000-4000-8503-000000000001')$$, '42501', null,
  'a user cannot verify even its own ledger');
select tests.clear_authentication();

select tests.authenticate_as_admin('00000000-0000-4000-8503-000000000003');
select throws_ok($$select * from public.verify_token_ledger()$$, '42501', null, 'an admin cannot verify the ledger');
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select lives_ok($$select * from public.verify_token_ledger()$$, 'the service verifies the whole ledger');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-8503-000000000001')$$,
  'and one user''s');
select tests.clear_authentication();

select lives_ok($$select * from public.verify_token_ledger('00000000-0000-4000-8503-000000000001')$$,
  'a session that did not switch role (SQL editor, cron) may verify');

select * from finish();
rollback;
