-- run_drip, three cycles with usage in between, including spending everything: what carries
-- into a cycle is exactly what is left of the earlier cycles' drips, an empty lot carries and
-- expires nothing, and each row's balances chain onto the usage in between.
--   cycle 1: +375,000; use 375,000 (all)         -> 0
--   cycle 2: carries 0 (0 lots), +375,000         -> 375,000; use 50,000 -> 325,000
--   cycle 3: cycle 1's empty lot lapses (0), carries 325,000 (1 lot), +375,000 -> 700,000
--   use 700,000 across both lots                  -> 0
begin;
select plan(10);
set local timezone to 'UTC';

select tests.create_subscriber('rd-three@example.test', '00000000-0000-4000-d103-000000000001', '00000000-0000-4000-d103-0000000000a1');

select is((public.run_drip('00000000-0000-4000-d103-0000000000a1', now()) ->> 'balance_after')::bigint, 375000::bigint, 'cycle 1');
select is((public.record_usage('chat', 375000, 'rd-three-1', '00000000-0000-4000-d103-000000000001') ->> 'balance_after')::bigint,
  0::bigint, 'the whole drip is spent');
select is((public.run_drip('00000000-0000-4000-d103-0000000000a1', now() + interval '28 days') ->> 'balance_after')::bigint,
  375000::bigint, 'cycle 2');
select is((public.record_usage('chat', 50000, 'rd-three-2', '00000000-0000-4000-d103-000000000001') ->> 'balance_after')::bigint,
  325000::bigint, '50,000 spent in cycle 2');
select is((public.run_drip('00000000-0000-4000-d103-0000000000a1', now() + interval '56 days') ->> 'balance_after')::bigint,
  700000::bigint, 'cycle 3');

select is(tests.drip_history('00000000-0000-4000-d103-0000000000a1'), array[
    'cycle 1: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 0-28',
    'cycle 2: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 28-56',
    'cycle 3: +375000, carried 325000 (1 cycle), expired 0, 325000 -> 700000, days 56-84'],
  'each row: an emptied cycle carries nothing; balance_before is what usage left');

select results_eq(
  $$select public.record_usage('chat', 700000, 'rd-three-3', '00000000-0000-4000-d103-000000000001') - 'usage_id' - 'user_id'$$,
  $$values ('{"tokens": 700000, "balance_before": 700000, "balance_after": 0, "replayed": false}'::jsonb)$$,
  'everything carried and dripped can be spent');
select is(tests.lot_history('00000000-0000-4000-d103-000000000001'), array[
    'drip 1: 0/375000, day 0 -> 56', 'drip 2: 0/375000, day 28 -> 84', 'drip 3: 0/375000, day 56 -> 112'],
  'every lot is empty');
select results_eq(
  $$select balance_before, balance_after from public.token_usage where user_id = '00000000-0000-4000-d103-000000000001' order by balance_before, balance_after$$,
  $$values (375000::bigint, 0::bigint), (375000::bigint, 325000::bigint), (700000::bigint, 0::bigint)$$,
  'the usage rows chain with the drips');
select is(tests.verified_balance('00000000-0000-4000-d103-000000000001'), 'balance=0 debt=0',
  'the balance is 0; the ledger is consistent');

select * from finish();
rollback;
