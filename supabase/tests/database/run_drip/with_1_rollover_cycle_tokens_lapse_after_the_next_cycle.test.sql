-- Expiry after max_rollover_cycles = 1 (the default plan), no usage: cycle 1's tokens roll
-- into cycle 2 and lapse when cycle 2 ends, recorded in cycle 3's expired_tokens. The balance
-- levels off at two drips.
begin;
select plan(6);
set local timezone to 'UTC';

select tests.create_subscriber('rd-rollover1@example.test', '00000000-0000-4000-d106-000000000001', '00000000-0000-4000-d106-0000000000a1');

select public.run_drip('00000000-0000-4000-d106-0000000000a1', now());
select is((public.run_drip('00000000-0000-4000-d106-0000000000a1', now() + interval '28 days') ->> 'tokens_expired')::bigint,
  0::bigint, 'cycle 2 expires nothing: cycle 1 rolls over');
select is((public.run_drip('00000000-0000-4000-d106-0000000000a1', now() + interval '56 days') ->> 'tokens_expired')::bigint,
  375000::bigint, 'cycle 3 expires cycle 1''s 375,000');
select is((public.run_drip('00000000-0000-4000-d106-0000000000a1', now() + interval '84 days') ->> 'tokens_expired')::bigint,
  375000::bigint, 'cycle 4 expires cycle 2''s 375,000');

select is(tests.drip_history('00000000-0000-4000-d106-0000000000a1'), array[
    'cycle 1: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 0-28',
    'cycle 2: +375000, carried 375000 (1 cycle), expired 0, 375000 -> 750000, days 28-56',
    'cycle 3: +375000, carried 375000 (1 cycle), expired 375000, 750000 -> 750000, days 56-84',
    'cycle 4: +375000, carried 375000 (1 cycle), expired 375000, 750000 -> 750000, days 84-112'],
  'one cycle rolls over; from cycle 3 on each boundary expires the drip of two cycles back');
select is(tests.lot_history('00000000-0000-4000-d106-000000000001'), array[
    'drip 1: 0/375000, day 0 -> 56', 'drip 2: 0/375000, day 28 -> 84',
    'drip 3: 375000/375000, day 56 -> 112', 'drip 4: 375000/375000, day 84 -> 140'],
  'each lot expires when the cycle after its own ends');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d106-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
