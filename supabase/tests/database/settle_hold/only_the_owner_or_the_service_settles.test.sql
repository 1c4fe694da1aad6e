-- Who may settle a hold: its owner or the service (a superuser session counts as the
-- service). Another user, an admin for another user's hold, anon: 42501, nothing written.
begin;
select plan(15);

select tests.create_user('sh-roles-alice@example.test', '00000000-0000-4000-b210-000000000001', 100);
select tests.create_user('sh-roles-bob@example.test', '00000000-0000-4000-b210-000000000002');
select tests.create_user('sh-roles-admin@example.test', '00000000-0000-4000-b210-000000000003', 100);
select set_config('test.a1', public.reserve_tokens('chat', 10, 'a1', '00000000-0000-4000-b210-000000000001') ->> 'hold_id', true);
select set_config('test.a2', public.reserve_tokens('chat', 10, 'a2', '00000000-0000-4000-b210-000000000001') ->> 'hold_id', true);
select set_config('test.a3', public.reserve_tokens('chat', 10, 'a3', '00000000-0000-4000-b210-000000000001') ->> 'hold_id', true);
select set_config('test.c1', public.reserve_tokens('chat', 10, 'c1', '00000000-0000-4000-b210-000000000003') ->> 'hold_id', true);

-- anon
select ok(not has_function_privilege('anon', 'public.settle_hold(uuid, bigint, text, jsonb)', 'execute'),
  'anon has no EXECUTE on settle_hold');
select tests.authenticate_as_anon();
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 5)$$, '42501', null, 'anon cannot settle');
select tests.clear_authentication();

-- another user, with or without a claim of admin in user_metadata
select tests.authenticate_as('00000000-0000-4000-b210-000000000002');
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 5)$$, '42501', null,
  'another user cannot settle alice''s hold');
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 0)$$, '42501', null,
  'not even with zero tokens');
select tests.clear_authentication();
select tests.authenticate_with_claims('{"sub": "00000000-0000-4000-b210-000000000002", "role": "authenticated", "user_metadata": {"role": "admin"}}');
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 5)$$, '42501', null,
  'user_metadata.role = admin changes nothing');
select tests.clear_authentication();
select tests.authenticate_with_claims('{"role": "authenticated"}');
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 5)$$, '42501', null,
  'a token without sub cannot settle');
select tests.clear_authentication();

-- an admin: its own hold yes, another user's no
select tests.authenticate_as_admin('00000000-0000-4000-b210-000000000003');
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 5)$$, '42501', null,
  'an admin cannot settle another user''s hold');
select is(public.settle_hold(current_setting('test.c1')::uuid, 5) ->> 'user_id', '00000000-0000-4000-b210-000000000003',
  'an admin settles its own hold');
select tests.clear_authentication();
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b210-000000000001'), tests.hold_statuses('00000000-0000-4000-b210-000000000001')), 'balance=100 lots=1 remaining=100 transactions=1 holds=3 held=30 a1:held,a2:held,a3:held',
  'the refused callers wrote nothing for alice');

-- the owner
select tests.authenticate_as('00000000-0000-4000-b210-000000000001');
select is(public.settle_hold(current_setting('test.a1')::uuid, 5) ->> 'balance_after', '95', 'the owner settles its hold');
select tests.clear_authentication();

-- the service and a superuser session
select tests.authenticate_as_service_role();
select is(public.settle_hold(current_setting('test.a2')::uuid, 5) ->> 'user_id', '00000000-0000-4000-b210-000000000001',
  'the service settles anyone''s hold (the hold names the user)');
select tests.clear_authentication();
select is(public.settle_hold(current_setting('test.a3')::uuid, 5) ->> 'balance_after', '85',
  'a session that did not switch role acts like the service');

select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b210-000000000001'), tests.hold_statuses('00000000-0000-4000-b210-000000000001')), 'balance=85 lots=1 remaining=85 transactions=1 usage=3 used=15 holds=3 held=0 a1:settled:5,a2:settled:5,a3:settled:5',
  'three settles of alice''s holds');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b210-000000000002'), tests.hold_statuses('00000000-0000-4000-b210-000000000002')), 'none', 'nothing for bob');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
