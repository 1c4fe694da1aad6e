-- A plan change takes effect at the next cycle, also when it turns drips on: a subscription
-- that had no drip plan (the annual plan, or none) and is switched to a drip plan starts with
-- the first cycle of its anchor grid that begins at or after the change. The cycles that
-- began while it had no drips are not owed and are not issued by a catch-up.
-- The anchor lies 100 days back (cycles at -100, -72, -44, -16, +12 days); no test here spends
-- tokens, so nothing catches up as of now() except the runs below.
begin;
select plan(6);
set local timezone to 'UTC';

select tests.create_user('cs-resume-annual@example.test', '00000000-0000-4000-d406-000000000001');
select tests.create_user('cs-resume-noplan@example.test', '00000000-0000-4000-d406-000000000002');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-d406-0000000000a1', '00000000-0000-4000-d406-000000000001', 'annual', 'active', now() - interval '100 days'),
  ('00000000-0000-4000-d406-0000000000a2', '00000000-0000-4000-d406-000000000002', null, 'active', now() - interval '100 days');

update public.customer_subscriptions set plan_id = 'default'
 where id in ('00000000-0000-4000-d406-0000000000a1', '00000000-0000-4000-d406-0000000000a2');
select results_eq(
  $$select id, next_cycle_number, next_drip_at - now() from public.customer_subscriptions
     where id::text like '00000000-0000-4000-d406-%' order by id$$,
  $$values ('00000000-0000-4000-d406-0000000000a1'::uuid, 5, interval '12 days'),
           ('00000000-0000-4000-d406-0000000000a2', 5, interval '12 days')$$,
  'switched to the default plan: the next cycle on the anchor grid is cycle 5, in 12 days');
select is((public.run_drip('00000000-0000-4000-d406-0000000000a1', now()) ->> 'cycles_issued')::int, 0,
  'nothing is owed for the cycles on the annual plan');
select is((public.run_drip('00000000-0000-4000-d406-0000000000a2', now()) ->> 'cycles_issued')::int, 0,
  'nor for the cycles without a plan');
select is((public.run_drip('00000000-0000-4000-d406-0000000000a1', now() + interval '12 days') ->> 'cycles_issued')::int, 1,
  'cycle 5 is issued when it starts');
select results_eq(
  $$select cycle_number, billing_period_start - now(), balance_after from public.token_drips
     where subscription_id = '00000000-0000-4000-d406-0000000000a1'$$,
  $$values (5, interval '12 days', 375000::bigint)$$, 'one row: cycle 5');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d406-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
