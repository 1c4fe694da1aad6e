-- Expiry after max_rollover_cycles = 2: a drip rolls over two cycles and lapses when cycle
-- n + 2 ends. Unused tokens of two earlier cycles carry (rollover_cycles_count 2) and the
-- balance levels off at three drips; usage leaves the lot it emptied out of the count.
begin;
select plan(7);
set local timezone to 'UTC';

select tests.create_plan('rd-rollover-2', p_max_rollover_cycles => 2);
-- cycles 1 to 3 on time: nothing lapses yet
select tests.create_dripping_subscriber('rd-rollover2@example.test', '00000000-0000-4000-d107-000000000001',
  '00000000-0000-4000-d107-0000000000a1', 3, 'rd-rollover-2');
select is(tests.lot_history('00000000-0000-4000-d107-000000000001'), array[
    'drip 1: 375000/375000, day 0 -> 84', 'drip 2: 375000/375000, day 28 -> 112', 'drip 3: 375000/375000, day 56 -> 140'],
  'the cycle 1 lot expires when cycle 3 ends');
select is((public.run_drip('00000000-0000-4000-d107-0000000000a1', now() + interval '84 days') ->> 'tokens_expired')::bigint,
  375000::bigint, 'cycle 4 expires cycle 1''s drip');
-- spend all of cycle 2's lot and part of cycle 3's (burn order: soonest expiry first)
select is((public.record_usage('chat', 400000, 'rd-rollover2-1', '00000000-0000-4000-d107-000000000001') ->> 'balance_after')::bigint,
  725000::bigint, 'spend 400,000 during cycle 4');
select is((public.run_drip('00000000-0000-4000-d107-0000000000a1', now() + interval '112 days') ->> 'tokens_expired')::bigint,
  0::bigint, 'cycle 5: cycle 2''s lot lapses empty, nothing expires');

select is(tests.drip_history('00000000-0000-4000-d107-0000000000a1'), array[
    'cycle 1: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 0-28',
    'cycle 2: +375000, carried 375000 (1 cycle), expired 0, 375000 -> 750000, days 28-56',
    'cycle 3: +375000, carried 750000 (2 cycles), expired 0, 750000 -> 1125000, days 56-84',
    'cycle 4: +375000, carried 750000 (2 cycles), expired 375000, 1125000 -> 1125000, days 84-112',
    'cycle 5: +375000, carried 725000 (2 cycles), expired 0, 725000 -> 1100000, days 112-140'],
  'two cycles roll over; cycle 4 expires cycle 1; cycle 5 carries cycles 3 and 4');
select is(tests.lot_history('00000000-0000-4000-d107-000000000001'), array[
    'drip 1: 0/375000, day 0 -> 84', 'drip 2: 0/375000, day 28 -> 112', 'drip 3: 350000/375000, day 56 -> 140',
    'drip 4: 375000/375000, day 84 -> 168', 'drip 5: 375000/375000, day 112 -> 196'],
  'each lot expires when cycle n + 2 ends');
select is(tests.verified_balance('00000000-0000-4000-d107-000000000001'), 'balance=1100000 debt=0', 'the balance; the ledger is consistent');

select * from finish();
rollback;
