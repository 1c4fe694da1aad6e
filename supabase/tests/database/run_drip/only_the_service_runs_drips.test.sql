-- Only the service runs drips: anon, a signed-in user (even for its own subscription) and an
-- admin get 42501 and nothing is written; service_role (and a session that did not switch
-- role, like pg_cron or the SQL editor) may.
begin;
select plan(12);
set local timezone to 'UTC';

insert into auth.users (id, email, raw_app_meta_data) values
  ('00000000-0000-4000-d117-000000000001', 'rd-roles-alice@example.test', '{}'),
  ('00000000-0000-4000-d117-000000000002', 'rd-roles-admin@example.test', '{"role": "admin"}');
select tests.create_subscription('00000000-0000-4000-d117-0000000000a1', '00000000-0000-4000-d117-000000000001');

select function_privs_are('public', 'run_drip', array['uuid', 'timestamp with time zone'], 'anon', '{}'::text[],
  'anon has no EXECUTE on run_drip');
select function_privs_are('public', 'run_drip', array['uuid', 'timestamp with time zone'], 'authenticated', '{}'::text[],
  'authenticated has no EXECUTE on run_drip');
select function_privs_are('public', 'run_drip', array['uuid', 'timestamp with time zone'], 'service_role', array['EXECUTE'],
  'service_role has EXECUTE on run_drip');

select tests.authenticate_as_anon();
select throws_ok($$select public.run_drip('00000000-0000-4000-d117-0000000000a1', now())$$, '42501', null, 'anon cannot run drips');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-d117-000000000001');
select throws_ok($$select public.run_drip('00000000-0000-4000-d117-0000000000a1', now())$$, '42501', null,
  'a subscriber cannot run its own drip');
select throws_ok($$select public.run_drip('00000000-0000-4000-d117-0000000000a1')$$, '42501', null,
  'nor with the default as-of');
select tests.clear_authentication();

select tests.authenticate_as_admin('00000000-0000-4000-d117-000000000002');
select throws_ok($$select public.run_drip('00000000-0000-4000-d117-0000000000a1', now())$$, '42501', null, 'an admin cannot run drips');
select tests.clear_authentication();

select is(tests.ledger_footprint('00000000-0000-4000-d117-000000000001'), 'balance=0 next_cycle=1', 'the refused calls wrote nothing');

select tests.authenticate_as_service_role();
select is((public.run_drip('00000000-0000-4000-d117-0000000000a1', now()) ->> 'cycles_issued')::int, 1, 'service_role runs drips');
select tests.clear_authentication();
select is((public.run_drip('00000000-0000-4000-d117-0000000000a1', now() + interval '28 days') ->> 'cycles_issued')::int, 1,
  'a session that did not switch role (pg_cron, SQL editor) runs drips like the service');
select is(tests.ledger_footprint('00000000-0000-4000-d117-000000000001'), 'balance=750000 lots=2 remaining=750000 drips=2 next_cycle=3', 'two cycles written');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d117-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
