-- run_drip catches up: five cycles that came due without a run are issued by one call, in
-- order, each exactly as if it had run on time (its own period, rollover and expiry; the drip
-- date is the cycle's start, not the time of the run).
begin;
select plan(6);
set local timezone to 'UTC';

select tests.create_subscriber('rd-catchup@example.test', '00000000-0000-4000-d109-000000000001', '00000000-0000-4000-d109-0000000000a1');

select is(public.run_drip('00000000-0000-4000-d109-0000000000a1', now() + interval '112 days'),
  jsonb_build_object('subscription_id', '00000000-0000-4000-d109-0000000000a1', 'cycles_issued', 5,
    'tokens_dripped', 1875000, 'tokens_expired', 1125000, 'balance_after', 750000),
  'one call as of the start of cycle 5 issues cycles 1 to 5 (3 x 375,000 expired on the way)');

select is(tests.drip_history('00000000-0000-4000-d109-0000000000a1'), array[
    'cycle 1: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 0-28',
    'cycle 2: +375000, carried 375000 (1 cycle), expired 0, 375000 -> 750000, days 28-56',
    'cycle 3: +375000, carried 375000 (1 cycle), expired 375000, 750000 -> 750000, days 56-84',
    'cycle 4: +375000, carried 375000 (1 cycle), expired 375000, 750000 -> 750000, days 84-112',
    'cycle 5: +375000, carried 375000 (1 cycle), expired 375000, 750000 -> 750000, days 112-140'],
  'each cycle''s row is what an on-time run would have written');
select is((select array_agg(distinct created_at) from public.token_drips where subscription_id = '00000000-0000-4000-d109-0000000000a1'),
  array[now()], 'all five rows were written by this run (created_at), dated by their cycles (drip_date)');
select is(tests.lot_history('00000000-0000-4000-d109-000000000001'), array[
    'drip 1: 0/375000, day 0 -> 56', 'drip 2: 0/375000, day 28 -> 84', 'drip 3: 0/375000, day 56 -> 112',
    'drip 4: 375000/375000, day 84 -> 140', 'drip 5: 375000/375000, day 112 -> 168'],
  'five lots, each created as of its cycle; the three oldest lapsed on schedule');
select is(tests.drip_schedule('00000000-0000-4000-d109-0000000000a1'), 'cycle 6 at day 140', 'the schedule waits for cycle 6');
select is(tests.verified_balance('00000000-0000-4000-d109-000000000001'), 'balance=750000 debt=0', 'the balance holds the last two drips; the ledger is consistent');

select * from finish();
rollback;
