-- A plan change takes effect at the next cycle: the cycle in progress keeps its row, lot and
-- end; the next cycle drips the new plan's tokens, lasts the new plan's interval and its lot
-- follows the new plan's rollover. Changing back works the same way.
--   default (375,000 / 28 days / 1 rollover) -> big (500,000 / 14 days / 0 rollover) during cycle 1
--   -> default again during cycle 3
-- Cycle 1's tokens are spent before the change, so no lot of one plan lives on under the other.
begin;
select plan(13);
set local timezone to 'UTC';

select tests.create_plan('rd-plan-big', 500000, 0, p_drip_interval => '14 days');
select tests.create_subscriber('rd-plan@example.test', '00000000-0000-4000-d114-000000000001', '00000000-0000-4000-d114-0000000000a1');

select public.run_drip('00000000-0000-4000-d114-0000000000a1', now());
select public.record_usage('chat', 375000, 'rd-plan-1', '00000000-0000-4000-d114-000000000001');

update public.customer_subscriptions set plan_id = 'rd-plan-big' where id = '00000000-0000-4000-d114-0000000000a1';
select is(tests.drip_schedule('00000000-0000-4000-d114-0000000000a1'), 'cycle 2 at day 28', 'cycle 1 still ends after the default plan''s 28 days');
select results_eq(
  $$select plan_id, drip_amount, billing_period_end from public.token_drips where subscription_id = '00000000-0000-4000-d114-0000000000a1'$$,
  $$values ('default'::text, 375000::bigint, now() + interval '28 days')$$, 'cycle 1''s row is untouched');
select is((public.run_drip('00000000-0000-4000-d114-0000000000a1', now() + interval '27 days') ->> 'cycles_issued')::int, 0,
  'nothing is issued mid-cycle because of the change');

select is(public.run_drip('00000000-0000-4000-d114-0000000000a1', now() + interval '28 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 500000, "tokens_expired": 0, "balance_after": 500000}'::jsonb,
  'cycle 2 drips the new plan''s 500,000');
select is((public.run_drip('00000000-0000-4000-d114-0000000000a1', now() + interval '42 days' - interval '1 microsecond') ->> 'cycles_issued')::int, 0,
  'cycle 2 lasts 14 days: nothing just before day 42');
select is(public.run_drip('00000000-0000-4000-d114-0000000000a1', now() + interval '42 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 500000, "tokens_expired": 500000, "balance_after": 500000}'::jsonb,
  'cycle 3 at day 42; cycle 2''s lot (no rollover on this plan) lapses');

update public.customer_subscriptions set plan_id = 'default' where id = '00000000-0000-4000-d114-0000000000a1';
select is(tests.drip_schedule('00000000-0000-4000-d114-0000000000a1'), 'cycle 4 at day 56', 'changing back: cycle 3 still ends after the big plan''s 14 days');
select is(public.run_drip('00000000-0000-4000-d114-0000000000a1', now() + interval '56 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 500000, "balance_after": 375000}'::jsonb,
  'cycle 4 drips the default plan''s 375,000; cycle 3''s lot lapses');
select is((public.run_drip('00000000-0000-4000-d114-0000000000a1', now() + interval '84 days' - interval '1 microsecond') ->> 'cycles_issued')::int, 0,
  'cycle 4 lasts 28 days');

select is(tests.drip_history('00000000-0000-4000-d114-0000000000a1'), array[
    'cycle 1: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 0-28',
    'cycle 2: +500000, carried 0 (0 cycles), expired 0, 0 -> 500000, days 28-42',
    'cycle 3: +500000, carried 0 (0 cycles), expired 500000, 500000 -> 500000, days 42-56',
    'cycle 4: +375000, carried 0 (0 cycles), expired 500000, 500000 -> 375000, days 56-84'],
  'each row carries its amount and its period');
select results_eq(
  $$select cycle_number, plan_id, metadata from public.token_drips where subscription_id = '00000000-0000-4000-d114-0000000000a1' order by cycle_number$$,
  $$values (1, 'default'::text, '{"plan_id": "default", "max_rollover_cycles": 1}'::jsonb),
           (2, 'rd-plan-big', '{"plan_id": "rd-plan-big", "max_rollover_cycles": 0}'),
           (3, 'rd-plan-big', '{"plan_id": "rd-plan-big", "max_rollover_cycles": 0}'),
           (4, 'default', '{"plan_id": "default", "max_rollover_cycles": 1}')$$,
  'each row names the plan it was issued under');
select is(tests.lot_history('00000000-0000-4000-d114-000000000001'), array[
    'drip 1: 0/375000, day 0 -> 56', 'drip 2: 0/500000, day 28 -> 42',
    'drip 3: 0/500000, day 42 -> 56', 'drip 4: 375000/375000, day 56 -> 112'],
  'each lot expires by the rules of the plan that issued it');
select is(tests.verified_balance('00000000-0000-4000-d114-000000000001'), 'balance=375000 debt=0', 'the balance; the ledger is consistent');

select * from finish();
rollback;
