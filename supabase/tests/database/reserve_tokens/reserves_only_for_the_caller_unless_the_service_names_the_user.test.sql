-- Who may reserve tokens for whom, as for record_usage: anon nobody (no EXECUTE); a signed-in
-- user itself only; an admin itself only as well; the service anyone (naming the user).
begin;
select plan(21);

select tests.create_user('rt-roles-alice@example.test', '00000000-0000-4000-b104-000000000001', 100);
select tests.create_user('rt-roles-bob@example.test', '00000000-0000-4000-b104-000000000002', 100);
select tests.create_user('rt-roles-admin@example.test', '00000000-0000-4000-b104-000000000003', 100);
select tests.create_user('rt-roles-mallory@example.test', '00000000-0000-4000-b104-000000000004');

-- anon
select ok(not has_function_privilege('anon', 'public.reserve_tokens(text, bigint, text, uuid, integer)', 'execute'),
  'anon has no EXECUTE on reserve_tokens');
select tests.authenticate_as_anon();
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-roles-anon', '00000000-0000-4000-b104-000000000002')$$,
  '42501', null, 'anon cannot reserve tokens');
select tests.clear_authentication();

-- authenticated: self only
select tests.authenticate_as('00000000-0000-4000-b104-000000000001');
select is(public.reserve_tokens('chat', 1, 'rt-roles-a1') ->> 'user_id', '00000000-0000-4000-b104-000000000001',
  'a user reserves its own tokens (p_user_id null)');
select is(public.reserve_tokens('chat', 2, 'rt-roles-a2', '00000000-0000-4000-b104-000000000001') ->> 'user_id',
  '00000000-0000-4000-b104-000000000001', 'a user reserves its own tokens (p_user_id its own id)');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-roles-a3', '00000000-0000-4000-b104-000000000002')$$,
  '42501', null, 'a user cannot reserve another user''s tokens');
select tests.clear_authentication();

-- authenticated without a user id in the token
select tests.authenticate_with_claims('{"role": "authenticated"}');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-roles-nosub')$$, '42501', null,
  'a token without sub cannot reserve');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-roles-nosub', '00000000-0000-4000-b104-000000000002')$$,
  '42501', null, 'a token without sub cannot name a user either');
select tests.clear_authentication();

-- user_metadata is written by the user: claiming admin there changes nothing
select tests.authenticate_with_claims('{"sub": "00000000-0000-4000-b104-000000000004", "role": "authenticated", "user_metadata": {"role": "admin"}}');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-roles-m1', '00000000-0000-4000-b104-000000000002')$$,
  '42501', null, 'user_metadata.role = admin does not allow reserving for another user');
select tests.clear_authentication();

-- admin (app_metadata): itself only
select tests.authenticate_as_admin('00000000-0000-4000-b104-000000000003');
select is(public.reserve_tokens('chat', 3, 'rt-roles-c1') ->> 'user_id', '00000000-0000-4000-b104-000000000003',
  'an admin reserves its own tokens');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-roles-c2', '00000000-0000-4000-b104-000000000002')$$,
  '42501', null, 'an admin cannot reserve another user''s tokens');
select tests.clear_authentication();

select is(tests.ledger_footprint('00000000-0000-4000-b104-000000000002'), 'balance=100 lots=1 remaining=100 transactions=1',
  'nothing was held for bob by the refused callers');
select is(tests.ledger_footprint('00000000-0000-4000-b104-000000000001'), 'balance=100 lots=1 remaining=100 transactions=1 holds=2 held=3',
  'alice''s two own holds were written');
select is(tests.ledger_footprint('00000000-0000-4000-b104-000000000003'), 'balance=100 lots=1 remaining=100 transactions=1 holds=1 held=3',
  'the admin''s own hold was written');
select is(tests.ledger_footprint('00000000-0000-4000-b104-000000000004'), 'none',
  'nothing was written for mallory');

-- service_role: anyone, but must say who
select tests.authenticate_as_service_role();
select set_config('test.r', public.reserve_tokens('chat', 5, 'rt-roles-s1', '00000000-0000-4000-b104-000000000002')::text, true);
select is(current_setting('test.r')::jsonb ->> 'user_id', '00000000-0000-4000-b104-000000000002',
  'the service reserves for the user it names');
select is((current_setting('test.r')::jsonb ->> 'available_after')::bigint, 95::bigint, 'from that user''s tokens');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-roles-s2')$$, '22023', null, 'the service must name the user');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-b104-000000000002'), 'balance=100 lots=1 remaining=100 transactions=1 holds=1 held=5', 'bob has the service''s hold only');

-- the service's hold key is bob's key: bob retrying it replays, he does not hold twice
select tests.authenticate_as('00000000-0000-4000-b104-000000000002');
select is(public.reserve_tokens('chat', 5, 'rt-roles-s1') -> 'replayed', 'true'::jsonb,
  'a hold key belongs to the user, whoever reserved');
select tests.clear_authentication();

-- a superuser session (SQL editor, cron) is trusted like the service
select is(public.reserve_tokens('chat', 1, 'rt-roles-su', '00000000-0000-4000-b104-000000000002') ->> 'available_after', '94',
  'a session that did not switch role acts like the service');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-roles-su2')$$, '22023', null, 'and must name the user too');

select * from finish();
rollback;
