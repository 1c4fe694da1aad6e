-- Expiry after max_rollover_cycles = 0: a drip lot expires when its own cycle ends. At the
-- next boundary whatever is left of it lapses into that cycle's expired_tokens and nothing
-- rolls over.
begin;
select plan(7);
set local timezone to 'UTC';

select tests.create_plan('rd-rollover-0', p_max_rollover_cycles => 0);
select tests.create_dripping_subscriber('rd-rollover0@example.test', '00000000-0000-4000-d105-000000000001',
  '00000000-0000-4000-d105-0000000000a1', 1, 'rd-rollover-0');
select is(tests.lot_history('00000000-0000-4000-d105-000000000001'), array['drip 1: 375000/375000, day 0 -> 28'],
  'the cycle 1 lot expires when cycle 1 ends');
select public.record_usage('chat', 100000, 'rd-rollover0-1', '00000000-0000-4000-d105-000000000001');

select is(public.run_drip('00000000-0000-4000-d105-0000000000a1', now() + interval '28 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 275000, "balance_after": 375000}'::jsonb,
  'cycle 2: the 275,000 left of cycle 1 expire');
select is(public.run_drip('00000000-0000-4000-d105-0000000000a1', now() + interval '56 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 375000, "balance_after": 375000}'::jsonb,
  'cycle 3: all of cycle 2 expires');

select is(tests.drip_history('00000000-0000-4000-d105-0000000000a1'), array[
    'cycle 1: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 0-28',
    'cycle 2: +375000, carried 0 (0 cycles), expired 275000, 275000 -> 375000, days 28-56',
    'cycle 3: +375000, carried 0 (0 cycles), expired 375000, 375000 -> 375000, days 56-84'],
  'nothing ever rolls over; each boundary expires the previous cycle''s leftovers');
select results_eq(
  $$select distinct plan_id, metadata from public.token_drips where subscription_id = '00000000-0000-4000-d105-0000000000a1'$$,
  $$values ('rd-rollover-0'::text, '{"plan_id": "rd-rollover-0", "max_rollover_cycles": 0}'::jsonb)$$,
  'every row names the plan and its rollover of 0 cycles');
select is(tests.lot_history('00000000-0000-4000-d105-000000000001'), array[
    'drip 1: 0/375000, day 0 -> 28', 'drip 2: 0/375000, day 28 -> 56', 'drip 3: 375000/375000, day 56 -> 84'],
  'only the current cycle''s lot holds tokens');
select is(tests.verified_balance('00000000-0000-4000-d105-000000000001'), 'balance=375000 debt=0', 'the balance is one drip; the ledger is consistent');

select * from finish();
rollback;
