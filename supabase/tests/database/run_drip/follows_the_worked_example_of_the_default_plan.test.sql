-- run_drip, the worked example of the default plan (375,000 every 28 days, one rollover cycle):
--   cycle 1: +375,000                                   balance 375,000
--   use 100,000                                         balance 275,000
--   cycle 2: carries 275,000, +375,000                  balance 650,000
--   use 300,000 (275,000 from cycle 1's lot, 25,000 from cycle 2's)    balance 350,000
--   cycle 3: carries 350,000, expires 0, +375,000       balance 725,000
--   (no use)
--   cycle 4: expires cycle 2's 350,000, carries cycle 3's 375,000, +375,000   balance 750,000
-- Every column of every token_drips row is checked. Anchor: now(); cycle k is run as of
-- anchor + (k-1) x 28 days.
begin;
select plan(17);
set local timezone to 'UTC';

select tests.create_subscriber('rd-worked@example.test', '00000000-0000-4000-d102-000000000001', '00000000-0000-4000-d102-0000000000a1');

-- cycle 1
select is(public.run_drip('00000000-0000-4000-d102-0000000000a1', now()) - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 0, "balance_after": 375000}'::jsonb, 'cycle 1: +375,000');
select is((public.record_usage('chat', 100000, 'rd-worked-1', '00000000-0000-4000-d102-000000000001') ->> 'balance_after')::bigint,
  275000::bigint, 'use 100,000: balance 275,000');

-- cycle 2
select is(public.run_drip('00000000-0000-4000-d102-0000000000a1', now() + interval '28 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 0, "balance_after": 650000}'::jsonb,
  'cycle 2: carries 275,000, balance 650,000');
select results_eq(
  $$select public.record_usage('chat', 300000, 'rd-worked-2', '00000000-0000-4000-d102-000000000001') - 'usage_id' - 'user_id'$$,
  $$values ('{"tokens": 300000, "balance_before": 650000, "balance_after": 350000, "replayed": false}'::jsonb)$$,
  'use 300,000: balance 350,000');
select is(tests.lot_history('00000000-0000-4000-d102-000000000001'), array[
    'drip 1: 0/375000, day 0 -> 56', 'drip 2: 350000/375000, day 28 -> 84'],
  'the 300,000 took the rest of cycle 1''s lot (275,000) and 25,000 of cycle 2''s');

-- cycle 3
select is(public.run_drip('00000000-0000-4000-d102-0000000000a1', now() + interval '56 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 0, "balance_after": 725000}'::jsonb,
  'cycle 3: carries 350,000, expires 0 (cycle 1''s lot was empty), balance 725,000');

-- cycle 4 (no use in cycle 3)
select is(public.run_drip('00000000-0000-4000-d102-0000000000a1', now() + interval '84 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 350000, "balance_after": 750000}'::jsonb,
  'cycle 4: expires cycle 2''s 350,000, carries cycle 3''s 375,000, balance 750,000');

select is(tests.drip_history('00000000-0000-4000-d102-0000000000a1'), array[
    'cycle 1: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 0-28',
    'cycle 2: +375000, carried 275000 (1 cycle), expired 0, 275000 -> 650000, days 28-56',
    'cycle 3: +375000, carried 350000 (1 cycle), expired 0, 350000 -> 725000, days 56-84',
    'cycle 4: +375000, carried 375000 (1 cycle), expired 350000, 725000 -> 750000, days 84-112'],
  'the four token_drips rows of the worked example, column by column');
select results_eq(
  $$select distinct user_id, subscription_id, plan_id, metadata, created_at, is_legacy
      from public.token_drips where subscription_id = '00000000-0000-4000-d102-0000000000a1'$$,
  $$values ('00000000-0000-4000-d102-000000000001'::uuid, '00000000-0000-4000-d102-0000000000a1'::uuid, 'default'::text,
            '{"plan_id": "default", "max_rollover_cycles": 1}'::jsonb, now(), false)$$,
  'every row names the user, the subscription and the plan, and is a ledger (not legacy) row');
select is((select count(distinct id)::int from public.token_drips where subscription_id = '00000000-0000-4000-d102-0000000000a1'), 4,
  'four distinct drip rows');

select is(tests.lot_history('00000000-0000-4000-d102-000000000001'), array[
    'drip 1: 0/375000, day 0 -> 56', 'drip 2: 0/375000, day 28 -> 84',
    'drip 3: 375000/375000, day 56 -> 112', 'drip 4: 375000/375000, day 84 -> 140'],
  'the lots: each expires when the cycle after its own ends; cycles 3 and 4 hold the 750,000');
select is(tests.balance_and_debt('00000000-0000-4000-d102-000000000001'), 'balance=750000 debt=0',
  'the stored balance is 750,000');
select is(tests.drip_schedule('00000000-0000-4000-d102-0000000000a1'), 'cycle 5 at day 112',
  'the schedule waits for cycle 5');
select is((select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-d102-000000000001'), 0,
  'no transaction rows: drips and drip expiry are recorded in token_drips');
select is((select count(*)::int from public.token_usage where user_id = '00000000-0000-4000-d102-000000000001'), 2,
  'two usage rows');
select is(
  (select sum(balance_after - balance_before)::bigint from public.token_drips where subscription_id = '00000000-0000-4000-d102-0000000000a1')
  - (select sum(tokens)::bigint from public.token_usage where user_id = '00000000-0000-4000-d102-000000000001'),
  750000::bigint, 'drips minus usage explain the balance');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d102-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
