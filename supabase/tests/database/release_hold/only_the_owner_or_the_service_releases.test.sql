-- Who may release a hold: its owner or the service (a superuser session counts as the
-- service). Another user, an admin for another user's hold, anon: 42501, nothing changed.
begin;
select plan(13);

select tests.create_user('rh-roles-alice@example.test', '00000000-0000-4000-b305-000000000001', 100);
select tests.create_user('rh-roles-bob@example.test', '00000000-0000-4000-b305-000000000002');
select tests.create_user('rh-roles-admin@example.test', '00000000-0000-4000-b305-000000000003', 100);
select set_config('test.a1', public.reserve_tokens('chat', 10, 'a1', '00000000-0000-4000-b305-000000000001') ->> 'hold_id', true);
select set_config('test.a2', public.reserve_tokens('chat', 10, 'a2', '00000000-0000-4000-b305-000000000001') ->> 'hold_id', true);
select set_config('test.a3', public.reserve_tokens('chat', 10, 'a3', '00000000-0000-4000-b305-000000000001') ->> 'hold_id', true);
select set_config('test.c1', public.reserve_tokens('chat', 10, 'c1', '00000000-0000-4000-b305-000000000003') ->> 'hold_id', true);

select ok(not has_function_privilege('anon', 'public.release_hold(uuid)', 'execute'), 'anon has no EXECUTE on release_hold');
select tests.authenticate_as_anon();
select throws_ok($$select public.release_hold(current_setting('test.a1')::uuid)$$, '42501', null, 'anon cannot release');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-b305-000000000002');
select throws_ok($$select public.release_hold(current_setting('test.a1')::uuid)$$, '42501', null,
  'another user cannot release alice''s hold');
select tests.clear_authentication();
select tests.authenticate_with_claims('{"sub": "00000000-0000-4000-b305-000000000002", "role": "authenticated", "user_metadata": {"role": "admin"}}');
select throws_ok($$select public.release_hold(current_setting('test.a1')::uuid)$$, '42501', null,
  'user_metadata.role = admin changes nothing');
select tests.clear_authentication();
select tests.authenticate_with_claims('{"role": "authenticated"}');
select throws_ok($$select public.release_hold(current_setting('test.a1')::uuid)$$, '42501', null, 'a token without sub cannot release');
select tests.clear_authentication();
select tests.authenticate_as_admin('00000000-0000-4000-b305-000000000003');
select throws_ok($$select public.release_hold(current_setting('test.a1')::uuid)$$, '42501', null,
  'an admin cannot release another user''s hold');
select is(public.release_hold(current_setting('test.c1')::uuid) ->> 'status', 'released', 'an admin releases its own hold');
select tests.clear_authentication();
select is(tests.hold_statuses('00000000-0000-4000-b305-000000000001'), 'a1:held,a2:held,a3:held', 'the refused callers changed nothing');
select is(public.get_token_balance('00000000-0000-4000-b305-000000000001') ->> 'held', '30', 'alice still holds 30');

select tests.authenticate_as('00000000-0000-4000-b305-000000000001');
select is(public.release_hold(current_setting('test.a1')::uuid) ->> 'available_after', '80', 'the owner releases its hold');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select is(public.release_hold(current_setting('test.a2')::uuid) ->> 'user_id', '00000000-0000-4000-b305-000000000001',
  'the service releases anyone''s hold');
select tests.clear_authentication();
select is(public.release_hold(current_setting('test.a3')::uuid) ->> 'available_after', '100',
  'a session that did not switch role acts like the service');
select is(tests.hold_statuses('00000000-0000-4000-b305-000000000001'), 'a1:released:0,a2:released:0,a3:released:0', 'all three released');

select * from finish();
rollback;
