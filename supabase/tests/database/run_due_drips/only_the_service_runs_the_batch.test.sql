-- Only the service runs the drip batch: anon, a signed-in user and an admin get 42501 and
-- nothing is written; service_role (and a session that did not switch role, as pg_cron's
-- job does) may.
begin;
select plan(11);
set local timezone to 'UTC';

-- Subscriptions committed by other runs (e.g. the Deno tests) are not part of this scenario:
-- within this rolled-back transaction they stop dripping.
update public.customer_subscriptions set status = 'canceled' where next_drip_at is not null;

insert into auth.users (id, email, raw_app_meta_data) values
  ('00000000-0000-4000-d203-000000000001', 'rdd-roles-alice@example.test', '{}'),
  ('00000000-0000-4000-d203-000000000002', 'rdd-roles-admin@example.test', '{"role": "admin"}');
select tests.create_subscription('00000000-0000-4000-d203-0000000000a1', '00000000-0000-4000-d203-000000000001');

select function_privs_are('public', 'run_due_drips', array['timestamp with time zone', 'integer'], 'anon', '{}'::text[],
  'anon has no EXECUTE on run_due_drips');
select function_privs_are('public', 'run_due_drips', array['timestamp with time zone', 'integer'], 'authenticated', '{}'::text[],
  'authenticated has no EXECUTE on run_due_drips');
select function_privs_are('public', 'run_due_drips', array['timestamp with time zone', 'integer'], 'service_role', array['EXECUTE'],
  'service_role has EXECUTE on run_due_drips');

select tests.authenticate_as_anon();
select throws_ok($$select public.run_due_drips(now(), 10)$$, '42501', null, 'anon cannot run the drip batch');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-d203-000000000001');
select throws_ok($$select public.run_due_drips(now(), 10)$$, '42501', null, 'a subscriber cannot run the drip batch');
select tests.clear_authentication();

select tests.authenticate_as_admin('00000000-0000-4000-d203-000000000002');
select throws_ok($$select public.run_due_drips()$$, '42501', null, 'an admin cannot run the drip batch');
select tests.clear_authentication();

select is(tests.ledger_footprint('00000000-0000-4000-d203-000000000001'), 'balance=0 next_cycle=1', 'the refused calls wrote nothing');

select tests.authenticate_as_service_role();
select is(public.run_due_drips(now(), 10) ->> 'cycles_issued', '1', 'service_role runs the drip batch');
select tests.clear_authentication();
select is(public.run_due_drips(now() + interval '28 days', 10) ->> 'cycles_issued', '1',
  'a session that did not switch role (pg_cron) runs it like the service');
select is(tests.ledger_footprint('00000000-0000-4000-d203-000000000001'), 'balance=750000 lots=2 remaining=750000 drips=2 next_cycle=3', 'two cycles written');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d203-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
