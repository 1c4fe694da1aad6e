-- Who may call handle_stripe_event: the service only (service_role, or a session that did
-- not switch role, like the Edge Function's SUPABASE_DB_URL connection). anon, signed-in users
-- and admins get 42501 and nothing is written; nor may they read or write stripe_events.
begin;
select plan(16);

select tests.create_user('hse-roles-alice@example.test', '00000000-0000-4000-8713-000000000001');
select tests.create_user('hse-roles-admin@example.test', '00000000-0000-4000-8713-000000000002');
select tests.create_pack('hse_roles_pack', 1000, 'Roles test pack');

-- A user who would love to grant itself a pack.
select set_config('hse.paid', tests.paid_checkout('evt_test_hse_roles_1', 'cs_test_hse_roles_1', 'hse_roles_pack',
  '00000000-0000-4000-8713-000000000001', 'pi_test_hse_roles_1')::text, true);

select ok(not has_function_privilege('anon', 'public.handle_stripe_event(jsonb)', 'execute'), 'anon has no EXECUTE');
select ok(not has_function_privilege('authenticated', 'public.handle_stripe_event(jsonb)', 'execute'), 'authenticated has no EXECUTE');
select ok(has_function_privilege('service_role', 'public.handle_stripe_event(jsonb)', 'execute'), 'service_role has EXECUTE');
select ok(not has_function_privilege('public', 'public.handle_stripe_event(jsonb)', 'execute'), 'PUBLIC has no EXECUTE');

-- anon
select tests.authenticate_as_anon();
select throws_ok(format('select public.handle_stripe_event(%L::jsonb)', current_setting('hse.paid')), '42501', null, 'anon cannot');
select tests.clear_authentication();
-- a signed-in user, for itself
select tests.authenticate_as('00000000-0000-4000-8713-000000000001');
select throws_ok(format('select public.handle_stripe_event(%L::jsonb)', current_setting('hse.paid')), '42501', null,
  'a signed-in user cannot, not even for its own purchase');
select throws_ok($$select * from public.stripe_events$$, '42501', null, 'a signed-in user cannot read stripe_events');
select tests.clear_authentication();
-- an admin (app_metadata.role = admin)
select tests.authenticate_as_admin('00000000-0000-4000-8713-000000000002');
select throws_ok(format('select public.handle_stripe_event(%L::jsonb)', current_setting('hse.paid')), '42501', null, 'an admin cannot');
select tests.clear_authentication();
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-8713-000000000001'), 'events=' || (select count(*) from public.stripe_events e where e.id like 'evt_test_hse_roles_%')), 'none events=0', 'nothing was written');

-- the service
select tests.authenticate_as_service_role();
select throws_ok(
  $$insert into public.stripe_events (id, type, created, payload, status) values ('evt_test_hse_roles_x', 'x', now(), '{}', 'ignored')$$,
  '42501', null, 'not even the service writes stripe_events directly');
select is(public.handle_stripe_event(current_setting('hse.paid')::jsonb) ->> 'status', 'processed', 'service_role can');
select is((select count(*)::int from public.stripe_events where id = 'evt_test_hse_roles_1'), 1, 'service_role reads stripe_events');
select tests.clear_authentication();
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-8713-000000000001'), 'events=' || (select count(*) from public.stripe_events e where e.id like 'evt_test_hse_roles_%')), 'balance=1000 lots=1 remaining=1000 transactions=1 events=1', 'the service''s call recorded the event and the purchase');

-- The Edge Function's own connection (postgres: no API role) is the service too.
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_roles_2"'),
    '{data,object,id}', '"cs_test_hse_roles_2"'),
    '{data,object,payment_intent}', '"pi_test_hse_roles_2"')) ->> 'status',
  'processed', 'the database owner can');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-8713-000000000001'), 'events=' || (select count(*) from public.stripe_events e where e.id like 'evt_test_hse_roles_%')), 'balance=2000 lots=2 remaining=2000 transactions=2 events=2', 'and it recorded the event and the purchase');

-- A role that is neither an API role nor privileged is not the service.
create role hse_roles_nobody nologin;
-- postgres is not a superuser (as on Supabase): it may switch only to a role it belongs to.
grant hse_roles_nobody to current_user;
grant execute on function public.handle_stripe_event(jsonb) to hse_roles_nobody;
grant usage on schema extensions to hse_roles_nobody; -- for pgTAP itself
set local role hse_roles_nobody;
select throws_ok(format('select public.handle_stripe_event(%L::jsonb)',
    jsonb_set(current_setting('hse.paid')::jsonb, '{id}', '"evt_test_hse_roles_3"')),
  '42501', null, 'another role, even granted EXECUTE, is refused by the function itself');
reset role; -- (this role may not use the tests helpers)

select * from finish();
rollback;
