-- max_rollover_tokens caps what carries into a cycle. The cut comes from the soonest-expiring
-- drip tokens first and is recorded in the cycle's expired_tokens (with whatever lapsed);
-- a lot emptied by the cut no longer counts in rollover_cycles_count. A cap of 0 carries
-- nothing.
--   plan: 375,000 every 28 days, 2 rollover cycles, at most 500,000 carried
--   cycle 2: carries 375,000 (under the cap)
--   cycle 3: 750,000 left -> cut 250,000 from cycle 1's lot (soonest expiry), carries 500,000
--   cycle 4: cycle 1's remaining 125,000 lapse; 750,000 left -> cut 250,000 from cycle 2's lot
begin;
select plan(8);
set local timezone to 'UTC';

select tests.create_plan('rd-cap-500k', p_max_rollover_cycles => 2, p_max_rollover_tokens => 500000);
select tests.create_plan('rd-cap-0', p_max_rollover_cycles => 2, p_max_rollover_tokens => 0);
select tests.create_dripping_subscriber('rd-cap@example.test', '00000000-0000-4000-d108-000000000001', '00000000-0000-4000-d108-0000000000a1',
  2, 'rd-cap-500k');
select tests.create_dripping_subscriber('rd-cap0@example.test', '00000000-0000-4000-d108-000000000002', '00000000-0000-4000-d108-0000000000a2',
  2, 'rd-cap-0');

select is(public.run_drip('00000000-0000-4000-d108-0000000000a1', now() + interval '56 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 250000, "balance_after": 875000}'::jsonb,
  'cycle 3: 250,000 over the cap are cut');
select is(tests.lot_history('00000000-0000-4000-d108-000000000001'), array[
    'drip 1: 125000/375000, day 0 -> 84', 'drip 2: 375000/375000, day 28 -> 112', 'drip 3: 375000/375000, day 56 -> 140'],
  'the cut came out of cycle 1''s lot, the soonest to expire');
select is(public.run_drip('00000000-0000-4000-d108-0000000000a1', now() + interval '84 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 375000, "balance_after": 875000}'::jsonb,
  'cycle 4: 125,000 lapse and 250,000 are cut');
select is(tests.lot_history('00000000-0000-4000-d108-000000000001'), array[
    'drip 1: 0/375000, day 0 -> 84', 'drip 2: 125000/375000, day 28 -> 112', 'drip 3: 375000/375000, day 56 -> 140',
    'drip 4: 375000/375000, day 84 -> 168'],
  'cycle 1''s lot lapsed; the cut came out of cycle 2''s lot, now the soonest to expire');
select is(tests.drip_history('00000000-0000-4000-d108-0000000000a1'), array[
    'cycle 1: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 0-28',
    'cycle 2: +375000, carried 375000 (1 cycle), expired 0, 375000 -> 750000, days 28-56',
    'cycle 3: +375000, carried 500000 (2 cycles), expired 250000, 750000 -> 875000, days 56-84',
    'cycle 4: +375000, carried 500000 (2 cycles), expired 375000, 875000 -> 875000, days 84-112'],
  'the rows: at most 500,000 carried, lapse and cut together in expired_tokens');

-- a cap of 0
select is(tests.drip_history('00000000-0000-4000-d108-0000000000a2'), array[
    'cycle 1: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 0-28',
    'cycle 2: +375000, carried 0 (0 cycles), expired 375000, 375000 -> 375000, days 28-56'],
  'a cap of 0: everything is cut at the boundary, nothing carries, no lot counts');

select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d108-000000000001')$$, 'the ledger is consistent (cap 500,000)');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d108-000000000002')$$, 'the ledger is consistent (cap 0)');

select * from finish();
rollback;
