-- One subscription whose drip fails does not stop the others: run_due_drips undoes that
-- subscription's work, records the failure in drip_failures (where operators look), counts it
-- in `subscriptions_failed`, and issues every other due cycle, on the set-based path and on
-- the one-at-a-time path alike. The failures here are a drip row that already holds the cycle
-- about to be issued (written by the table owner, past every constraint), which used to fail
-- the whole batch with 23505 in every run.
begin;
select plan(8);
set local timezone to 'UTC';

select tests.freeze_other_subscriptions();

select tests.create_user(format('rdd-isolate-%s@example.test', n), ('00000000-0000-4000-d2a3-00000000000' || n)::uuid) from generate_series(1, 4) n;
-- As of now() + 10 days: a1 and a2 owe one cycle (the set-based path), a3 and a4 two (one at
-- a time). a1 and a4 are broken.
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-d2a3-0000000000a1', '00000000-0000-4000-d2a3-000000000001', 'default', 'active', now() + interval '1 hour'),
  ('00000000-0000-4000-d2a3-0000000000a2', '00000000-0000-4000-d2a3-000000000002', 'default', 'active', now() + interval '2 hours'),
  ('00000000-0000-4000-d2a3-0000000000a3', '00000000-0000-4000-d2a3-000000000003', 'default', 'active', now() - interval '20 days'),
  ('00000000-0000-4000-d2a3-0000000000a4', '00000000-0000-4000-d2a3-000000000004', 'default', 'active', now() - interval '19 days');
-- (a1's cycle 1 and a4's cycle 2 already have a drip row)
select tests.break_drip('00000000-0000-4000-d2a3-0000000000a1', 1), tests.break_drip('00000000-0000-4000-d2a3-0000000000a4', 2);

select tests.authenticate_as_service_role();
select lives_ok($$select set_config('test.run', public.run_due_drips(now() + interval '10 days', 1000)::text, true)$$,
  'the batch succeeds');
select tests.clear_authentication();
select is(current_setting('test.run', true)::jsonb,
  '{"subscriptions": 4, "cycles_issued": 3, "tokens_dripped": 1125000, "tokens_expired": 0, "subscriptions_failed": 2}'::jsonb,
  'it took four subscriptions, issued the healthy ones'' three cycles and counts two failures');
select results_eq(
  $$select subscription_id, cycle_number, drip_amount from public.token_drips
     where user_id::text like '00000000-0000-4000-d2a3-%' order by subscription_id, cycle_number$$,
  $$values ('00000000-0000-4000-d2a3-0000000000a1'::uuid, 1, 0::bigint),
           ('00000000-0000-4000-d2a3-0000000000a2', 1, 375000),
           ('00000000-0000-4000-d2a3-0000000000a3', 1, 375000),
           ('00000000-0000-4000-d2a3-0000000000a3', 2, 375000),
           ('00000000-0000-4000-d2a3-0000000000a4', 2, 0)$$,
  'the healthy subscriptions dripped; the broken ones wrote nothing (a4''s cycle 1 was undone with its cycle 2)');
select results_eq(
  $$select id, next_cycle_number from public.customer_subscriptions where user_id::text like '00000000-0000-4000-d2a3-%' order by id$$,
  $$values ('00000000-0000-4000-d2a3-0000000000a1'::uuid, 1), ('00000000-0000-4000-d2a3-0000000000a2', 2),
           ('00000000-0000-4000-d2a3-0000000000a3', 3), ('00000000-0000-4000-d2a3-0000000000a4', 1)$$,
  'the broken subscriptions'' schedules did not move');
select results_eq(
  $$select subscription_id, user_id, next_cycle_number, sqlstate, as_of - now() from public.drip_failures
     where user_id::text like '00000000-0000-4000-d2a3-%' order by subscription_id$$,
  $$values ('00000000-0000-4000-d2a3-0000000000a1'::uuid, '00000000-0000-4000-d2a3-000000000001'::uuid, 1, '23505', interval '10 days'),
           ('00000000-0000-4000-d2a3-0000000000a4', '00000000-0000-4000-d2a3-000000000004', 1, '23505', interval '10 days')$$,
  'drip_failures names each broken subscription, its user, the cycle it was at, the SQLSTATE and the as-of time');
select ok((select bool_and(message like '%token_drips_subscription_cycle_key%' and detail like '%cycle_number%')
             from public.drip_failures where user_id::text like '00000000-0000-4000-d2a3-%'),
  'the failure keeps the error''s message and detail');
select results_eq(
  $$select user_id, balance from public.token_balances where user_id::text like '00000000-0000-4000-d2a3-%' order by user_id$$,
  $$values ('00000000-0000-4000-d2a3-000000000001'::uuid, 0::bigint), ('00000000-0000-4000-d2a3-000000000002', 375000),
           ('00000000-0000-4000-d2a3-000000000003', 750000), ('00000000-0000-4000-d2a3-000000000004', 0)$$,
  'balances: the healthy ones have their drips');
select is_empty($$select * from public.verify_token_ledger() where user_id::text like '00000000-0000-4000-d2a3-%'$$, 'the ledger is consistent');

select * from finish();
rollback;
