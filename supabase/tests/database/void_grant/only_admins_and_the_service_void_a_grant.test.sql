-- void_grant: admins and the service void anyone's grant; anon has no EXECUTE; a user may not
-- void their own grant nor another user's (42501), and a refused call writes nothing.
begin;
select plan(9);

select tests.create_users('void-roles', '00000000-0000-4000-8b06-000000000001', '00000000-0000-4000-8b06-000000000002');
select tests.create_user('void-roles-admin@example.test', '00000000-0000-4000-8b06-000000000003');
select public.grant_tokens('00000000-0000-4000-8b06-000000000001', 100, 'admin_grant', 'void-roles-g1');
select public.grant_tokens('00000000-0000-4000-8b06-000000000001', 200, 'admin_grant', 'void-roles-g2');
select set_config('test.g1', (select id::text from public.token_transactions where idempotency_key = 'void-roles-g1'), true);
select set_config('test.g2', (select id::text from public.token_transactions where idempotency_key = 'void-roles-g2'), true);
select set_config('test.before', tests.ledger_footprint('00000000-0000-4000-8b06-000000000001'), true);

select ok(not has_function_privilege('anon', 'public.void_grant(uuid, text, text)', 'execute'), 'anon has no EXECUTE on void_grant');
select tests.authenticate_as_anon();
select throws_ok(format('select public.void_grant(%L, %L, %L)', current_setting('test.g1'), 'r', 'void-roles-k0'), '42501', null,
  'anon cannot void');
select tests.authenticate_as('00000000-0000-4000-8b06-000000000001');
select throws_ok(format('select public.void_grant(%L, %L, %L)', current_setting('test.g1'), 'r', 'void-roles-k1'), '42501', null,
  'a user cannot void their own grant');
select tests.authenticate_as('00000000-0000-4000-8b06-000000000002');
select throws_ok(format('select public.void_grant(%L, %L, %L)', current_setting('test.g1'), 'r', 'void-roles-k2'), '42501', null,
  'another user cannot void it');
select tests.authenticate_with_claims('{"sub": "00000000-0000-4000-8b06-000000000002", "role": "authenticated", "user_metadata": {"role": "admin"}}');
select throws_ok(format('select public.void_grant(%L, %L, %L)', current_setting('test.g1'), 'r', 'void-roles-k3'), '42501', null,
  'user_metadata.role = admin does not make an admin');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8b06-000000000001'), current_setting('test.before'), 'nothing was written');

select tests.authenticate_as_admin('00000000-0000-4000-8b06-000000000003');
select is((public.void_grant(current_setting('test.g1')::uuid, 'duplicate grant', 'void-roles-k4') ->> 'tokens_voided')::bigint,
  100::bigint, 'an admin voids alice''s grant');
select tests.authenticate_as_service_role();
select is((public.void_grant(current_setting('test.g2')::uuid, 'test account', 'void-roles-k5') ->> 'balance_after')::bigint,
  0::bigint, 'the service voids alice''s other grant');
select tests.clear_authentication();
select results_eq(
  $$select source, actor_id, metadata ->> 'reason' from public.token_transactions
     where user_id = '00000000-0000-4000-8b06-000000000001' and transaction_type = 'void' order by token_amount desc$$,
  $$values ('admin'::text, '00000000-0000-4000-8b06-000000000003'::uuid, 'duplicate grant'::text),
           ('service'::text, null::uuid, 'test account'::text)$$,
  'each void records who voided it and why');

select * from finish();
rollback;
