-- A cycle that comes due while the subscription is past_due is skipped: not owed, and not
-- issued later when the subscription turns active again. The schedule moves on over it; the
-- next cycle that comes due while active is issued with its own cycle number.
begin;
select plan(9);
set local timezone to 'UTC';

select tests.create_dripping_subscriber('rd-pastdue@example.test', '00000000-0000-4000-d112-000000000001', '00000000-0000-4000-d112-0000000000a1');

update public.customer_subscriptions set status = 'past_due' where id = '00000000-0000-4000-d112-0000000000a1';
select is(tests.drip_schedule('00000000-0000-4000-d112-0000000000a1'), 'cycle 2 at day 28', 'past_due keeps the schedule');
select is(public.run_drip('00000000-0000-4000-d112-0000000000a1', now() + interval '28 days') - 'subscription_id',
  '{"cycles_issued": 0, "tokens_dripped": 0, "tokens_expired": 0, "balance_after": 375000}'::jsonb,
  'cycle 2 comes due while past_due: nothing is issued');
select is(tests.drip_schedule('00000000-0000-4000-d112-0000000000a1'), 'cycle 3 at day 56', 'the schedule moved past cycle 2');

update public.customer_subscriptions set status = 'active' where id = '00000000-0000-4000-d112-0000000000a1';
select is(tests.drip_schedule('00000000-0000-4000-d112-0000000000a1'), 'cycle 3 at day 56', 'turning active again does not bring cycle 2 back');
select is((public.run_drip('00000000-0000-4000-d112-0000000000a1', now() + interval '28 days') ->> 'cycles_issued')::int, 0,
  'a run as of cycle 2 issues nothing');
select is((public.run_drip('00000000-0000-4000-d112-0000000000a1', now() + interval '56 days' - interval '1 microsecond') ->> 'cycles_issued')::int, 0,
  'nor one just before cycle 3');
select is(public.run_drip('00000000-0000-4000-d112-0000000000a1', now() + interval '56 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 375000, "balance_after": 375000}'::jsonb,
  'cycle 3 is issued (and cycle 1''s lot, which lapses as cycle 2 ends, is expired in it)');

select is(tests.drip_history('00000000-0000-4000-d112-0000000000a1'), array[
    'cycle 1: +375000, carried 0 (0 cycles), expired 0, 0 -> 375000, days 0-28',
    'cycle 3: +375000, carried 0 (0 cycles), expired 375000, 375000 -> 375000, days 56-84'],
  'rows for cycles 1 and 3 only');
select is(tests.verified_balance('00000000-0000-4000-d112-000000000001'), 'balance=375000 debt=0', 'the balance is cycle 3''s drip; the ledger is consistent');

select * from finish();
rollback;
