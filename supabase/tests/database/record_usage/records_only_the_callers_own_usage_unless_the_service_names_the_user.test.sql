-- Who may record usage for whom: anon nobody (no EXECUTE); a signed-in user itself only; an
-- admin itself only as well (usage is spent by the user, not granted); the service anyone.
begin;
select plan(22);

select tests.create_user('ru-roles-alice@example.test', '00000000-0000-4000-8106-000000000001', 100);
select tests.create_user('ru-roles-bob@example.test', '00000000-0000-4000-8106-000000000002', 100);
select tests.create_user('ru-roles-admin@example.test', '00000000-0000-4000-8106-000000000003', 100);
select tests.create_user('ru-roles-mallory@example.test', '00000000-0000-4000-8106-000000000004');

-- anon
select ok(not has_function_privilege('anon', 'public.record_usage(text, bigint, text, uuid, text, jsonb)', 'execute'),
  'anon has no EXECUTE on record_usage');
select tests.authenticate_as_anon();
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-anon', '00000000-0000-4000-8106-000000000002')$$,
  '42501', null, 'anon cannot record usage');
select tests.clear_authentication();

-- authenticated: self only
select tests.authenticate_as('00000000-0000-4000-8106-000000000001');
select is(public.record_usage('chat', 1, 'ru-roles-a1') ->> 'user_id', '00000000-0000-4000-8106-000000000001',
  'a user records its own usage (p_user_id null)');
select is(public.record_usage('chat', 1, 'ru-roles-a2', '00000000-0000-4000-8106-000000000001') ->> 'user_id',
  '00000000-0000-4000-8106-000000000001', 'a user records its own usage (p_user_id its own id)');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-a3', '00000000-0000-4000-8106-000000000002')$$,
  '42501', null, 'a user cannot record usage for another user');
select tests.clear_authentication();

-- authenticated without a user id in the token
select tests.authenticate_with_claims('{"role": "authenticated"}');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-nosub')$$, '42501', null,
  'a token without sub cannot record usage');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-nosub', '00000000-0000-4000-8106-000000000002')$$, '42501', null,
  'a token without sub cannot name a user either');
select tests.clear_authentication();

-- user_metadata is written by the user: claiming admin there changes nothing
select tests.authenticate_with_claims('{"sub": "00000000-0000-4000-8106-000000000004", "role": "authenticated", "user_metadata": {"role": "admin"}}');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-m1', '00000000-0000-4000-8106-000000000002')$$,
  '42501', null, 'user_metadata.role = admin does not allow acting for another user');
select tests.clear_authentication();

-- admin (app_metadata): itself only
select tests.authenticate_as_admin('00000000-0000-4000-8106-000000000003');
select is(public.record_usage('chat', 1, 'ru-roles-c1') ->> 'user_id', '00000000-0000-4000-8106-000000000003',
  'an admin records its own usage');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-c2', '00000000-0000-4000-8106-000000000002')$$,
  '42501', null, 'an admin cannot record usage for another user');
select tests.clear_authentication();

select is(tests.ledger_footprint('00000000-0000-4000-8106-000000000002'),
  'balance=100 lots=1 remaining=100 transactions=1', 'nothing was written for bob by the refused callers');
select is(tests.ledger_footprint('00000000-0000-4000-8106-000000000001'),
  'balance=98 lots=1 remaining=98 transactions=1 usage=2 used=2', 'alice''s two own usages were written');
select is(tests.ledger_footprint('00000000-0000-4000-8106-000000000003'),
  'balance=99 lots=1 remaining=99 transactions=1 usage=1 used=1', 'the admin''s own usage was written');
select is(tests.ledger_footprint('00000000-0000-4000-8106-000000000004'),
  'none', 'nothing was written for mallory');

-- service_role: anyone, but must say who
select tests.authenticate_as_service_role();
select set_config('test.r', public.record_usage('chat', 5, 'ru-roles-s1', '00000000-0000-4000-8106-000000000002')::text, true);
select is(current_setting('test.r')::jsonb ->> 'user_id', '00000000-0000-4000-8106-000000000002', 'the service records usage for the user it names');
select is((current_setting('test.r')::jsonb ->> 'balance_after')::bigint, 95::bigint, 'and spends that user''s tokens');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-s2')$$, '22023', null, 'the service must name the user');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8106-000000000002'),
  'balance=95 lots=1 remaining=95 transactions=1 usage=1 used=5', 'bob has the service''s usage only');

-- the service's usage key is bob's key: bob retrying it replays, he does not spend twice
select tests.authenticate_as('00000000-0000-4000-8106-000000000002');
select is(public.record_usage('chat', 5, 'ru-roles-s1') -> 'replayed', 'true'::jsonb,
  'a usage key belongs to the user, whoever recorded it');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8106-000000000002'),
  'balance=95 lots=1 remaining=95 transactions=1 usage=1 used=5', 'the replay wrote nothing');

-- a superuser session (SQL editor, cron) is trusted like the service
select is(public.record_usage('chat', 1, 'ru-roles-su', '00000000-0000-4000-8106-000000000002') ->> 'balance_after', '94',
  'a session that did not switch role acts like the service');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-su2')$$, '22023', null, 'and must name the user too');

select * from finish();
rollback;
