-- Only the service drains the outbox: anon has no EXECUTE; a user, another user and an admin
-- get 42501 from claim_token_alerts and mark_token_alerts_delivered, and nothing changes.
begin;
select plan(9);

select tests.create_user('alerts-drain-roles@example.test', '00000000-0000-4000-8a0a-000000000001');
select tests.create_user('alerts-drain-roles-admin@example.test', '00000000-0000-4000-8a0a-000000000002');
select public.set_low_balance_threshold(10, '00000000-0000-4000-8a0a-000000000001');
select public.grant_tokens('00000000-0000-4000-8a0a-000000000001', 10, 'admin_grant', 'alerts-drain-roles-g');
select public.record_usage('chat', 1, 'alerts-drain-roles-u', '00000000-0000-4000-8a0a-000000000001');
select set_config('test.alert', (select id::text from public.token_alerts where user_id = '00000000-0000-4000-8a0a-000000000001'), true);

select ok(not has_function_privilege('anon', 'public.claim_token_alerts(integer, integer)', 'execute')
          and not has_function_privilege('anon', 'public.mark_token_alerts_delivered(uuid[])', 'execute'),
  'anon has no EXECUTE on the drain RPCs');
select ok(not has_function_privilege('authenticated', 'public.claim_token_alerts(integer, integer)', 'execute')
          and not has_function_privilege('authenticated', 'public.mark_token_alerts_delivered(uuid[])', 'execute'),
  'authenticated has no EXECUTE on the drain RPCs');
select tests.authenticate_as_anon();
select throws_ok($$select * from public.claim_token_alerts()$$, '42501', null, 'anon cannot claim');
select tests.authenticate_as('00000000-0000-4000-8a0a-000000000001');
select throws_ok($$select * from public.claim_token_alerts()$$, '42501', null, 'the alert''s own user cannot claim');
select throws_ok(format('select public.mark_token_alerts_delivered(array[%L::uuid])', current_setting('test.alert')),
  '42501', null, 'the alert''s own user cannot mark it delivered');
select tests.authenticate_as_admin('00000000-0000-4000-8a0a-000000000002');
select throws_ok($$select * from public.claim_token_alerts()$$, '42501', null, 'an admin cannot claim');
select throws_ok(format('select public.mark_token_alerts_delivered(array[%L::uuid])', current_setting('test.alert')),
  '42501', null, 'an admin cannot mark delivered');
select tests.clear_authentication();
select results_eq($$select attempts, claimed_until, delivered_at from public.token_alerts where id = current_setting('test.alert')::uuid$$,
  $$values (0, null::timestamptz, null::timestamptz)$$, 'the alert is untouched');
select tests.authenticate_as_service_role();
select is((select count(*) from public.claim_token_alerts() where id = current_setting('test.alert')::uuid), 1::bigint,
  'the service claims it');

select * from finish();
rollback;
