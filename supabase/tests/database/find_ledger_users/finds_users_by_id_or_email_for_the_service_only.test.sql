-- find_ledger_users finds users by id or by (part of) their email, case-insensitively, exact
-- matches first, with their tokens at a glance. Only the service: anon has no EXECUTE, a user
-- and an admin get 42501. LIKE wildcards in the query match only themselves.
begin;
select plan(9);

select tests.create_user('Find-Ledger-Alice@example.test', '00000000-0000-4000-8b0e-000000000001');
select tests.create_user('find-ledger-alice@example.test.other', '00000000-0000-4000-8b0e-000000000002');
select tests.create_user('find_ledger%x@example.test', '00000000-0000-4000-8b0e-000000000003');
select public.grant_tokens('00000000-0000-4000-8b0e-000000000001', 500, 'admin_grant', 'find-ledger-g');
select public.reserve_tokens('chat', 200, 'find-ledger-r', '00000000-0000-4000-8b0e-000000000001');

select ok(not has_function_privilege('anon', 'public.find_ledger_users(text, integer)', 'execute')
          and not has_function_privilege('authenticated', 'public.find_ledger_users(text, integer)', 'execute'),
  'neither anon nor authenticated has EXECUTE on find_ledger_users');
select tests.authenticate_as('00000000-0000-4000-8b0e-000000000001');
select throws_ok($$select * from public.find_ledger_users('find-ledger')$$, '42501', null, 'a user cannot look users up');
select tests.authenticate_as_admin('00000000-0000-4000-8b0e-000000000001');
select throws_ok($$select * from public.find_ledger_users('find-ledger')$$, '42501', null, 'an admin cannot look users up');

select tests.authenticate_as_service_role();
select results_eq($$select user_id, balance, held, available from public.find_ledger_users('find-ledger-alice@example.test')$$,
  $$values ('00000000-0000-4000-8b0e-000000000001'::uuid, 500::bigint, 200::bigint, 300::bigint),
           ('00000000-0000-4000-8b0e-000000000002'::uuid, 0::bigint, 0::bigint, 0::bigint)$$,
  'by email, any case: the exact match first, then the others that contain it, with their tokens');
select results_eq($$select email from public.find_ledger_users('00000000-0000-4000-8b0e-000000000002')$$,
  $$values ('find-ledger-alice@example.test.other'::text)$$, 'by id');
select results_eq($$select user_id from public.find_ledger_users('find_ledger%')$$,
  $$values ('00000000-0000-4000-8b0e-000000000003'::uuid)$$, '_ and % match only themselves');
select is((select count(*) from public.find_ledger_users('find-ledger', 1)), 1::bigint, 'p_limit caps the list');
select throws_ok($$select * from public.find_ledger_users('  ')$$, '22023', null, 'a blank query is refused');
select throws_ok($$select * from public.find_ledger_users('x', 101)$$, '22023', null, 'p_limit above 100 is refused');

select * from finish();
rollback;
