-- Who may read whose balance: a signed-in user its own only; an admin (app_metadata) anyone;
-- the service anyone, naming the user; anon nobody (no EXECUTE).
begin;
select plan(14);

select tests.create_user('gb-roles-alice@example.test', '00000000-0000-4000-8402-000000000001', 11);
select tests.create_user('gb-roles-bob@example.test', '00000000-0000-4000-8402-000000000002', 22);
select tests.create_user('gb-roles-admin@example.test', '00000000-0000-4000-8402-000000000003');
select tests.create_user('gb-roles-mallory@example.test', '00000000-0000-4000-8402-000000000004');

-- anon
select ok(not has_function_privilege('anon', 'public.get_token_balance(uuid)', 'execute'), 'anon has no EXECUTE on get_token_balance');
select tests.authenticate_as_anon();
select throws_ok($$select public.get_token_balance('00000000-0000-4000-8402-000000000001')$$, '42501', null, 'anon cannot read a balance');
select tests.clear_authentication();

-- a signed-in user
select tests.authenticate_as('00000000-0000-4000-8402-000000000001');
select is(public.get_token_balance() ->> 'balance', '11', 'a user reads its own balance (p_user_id null)');
select is(public.get_token_balance('00000000-0000-4000-8402-000000000001') ->> 'balance', '11', 'a user reads its own balance by id');
select throws_ok($$select public.get_token_balance('00000000-0000-4000-8402-000000000002')$$, '42501', null,
  'a user cannot read another user''s balance');
select tests.clear_authentication();

select tests.authenticate_with_claims('{"role": "authenticated"}');
select throws_ok($$select public.get_token_balance()$$, '42501', null, 'a token without sub cannot read a balance');
select tests.clear_authentication();

select tests.authenticate_with_claims('{"sub": "00000000-0000-4000-8402-000000000004", "role": "authenticated", "user_metadata": {"role": "admin"}}');
select throws_ok($$select public.get_token_balance('00000000-0000-4000-8402-000000000002')$$, '42501', null,
  'user_metadata.role = admin cannot read another user''s balance');
select tests.clear_authentication();

-- an admin
select tests.authenticate_as_admin('00000000-0000-4000-8402-000000000003');
select is(public.get_token_balance('00000000-0000-4000-8402-000000000002') ->> 'balance', '22', 'an admin reads another user''s balance');
select is(public.get_token_balance('00000000-0000-4000-8402-000000000002') ->> 'user_id', '00000000-0000-4000-8402-000000000002',
  'for the user it names');
select is(public.get_token_balance() ->> 'user_id', '00000000-0000-4000-8402-000000000003', 'an admin without p_user_id reads its own');
select tests.clear_authentication();

-- the service
select tests.authenticate_as_service_role();
select is(public.get_token_balance('00000000-0000-4000-8402-000000000001') ->> 'balance', '11', 'the service reads any user''s balance');
select throws_ok($$select public.get_token_balance()$$, '22023', null, 'the service must name the user');
select tests.clear_authentication();

select ok(has_function_privilege('authenticated', 'public.get_token_balance(uuid)', 'execute'), 'authenticated has EXECUTE');
select ok(has_function_privilege('service_role', 'public.get_token_balance(uuid)', 'execute'), 'service_role has EXECUTE');

select * from finish();
rollback;
