-- A cycle that comes due while the subscription is past_due is skipped: not owed, and not
-- issued later when the subscription turns active again. The schedule moves on over it; the
-- next cycle that comes due while active is issued with its own cycle number.
begin;
select plan(10);
set local timezone to 'UTC';

select tests.create_subscriber('rd-pastdue@example.test', '00000000-0000-4000-d112-000000000001', '00000000-0000-4000-d112-0000000000a1');
select public.run_drip('00000000-0000-4000-d112-0000000000a1', now());

update public.customer_subscriptions set status = 'past_due' where id = '00000000-0000-4000-d112-0000000000a1';
select results_eq(
  $$select next_cycle_number, next_drip_at from public.customer_subscriptions where id = '00000000-0000-4000-d112-0000000000a1'$$,
  $$values (2, now() + interval '28 days')$$, 'past_due keeps the schedule');
select is(public.run_drip('00000000-0000-4000-d112-0000000000a1', now() + interval '28 days') - 'subscription_id',
  '{"cycles_issued": 0, "tokens_dripped": 0, "tokens_expired": 0, "balance_after": 375000}'::jsonb,
  'cycle 2 comes due while past_due: nothing is issued');
select results_eq(
  $$select next_cycle_number, next_drip_at from public.customer_subscriptions where id = '00000000-0000-4000-d112-0000000000a1'$$,
  $$values (3, now() + interval '56 days')$$, 'the schedule moved past cycle 2');

update public.customer_subscriptions set status = 'active' where id = '00000000-0000-4000-d112-0000000000a1';
select results_eq(
  $$select next_cycle_number, next_drip_at from public.customer_subscriptions where id = '00000000-0000-4000-d112-0000000000a1'$$,
  $$values (3, now() + interval '56 days')$$, 'turning active again does not bring cycle 2 back');
select is((public.run_drip('00000000-0000-4000-d112-0000000000a1', now() + interval '28 days') ->> 'cycles_issued')::int, 0,
  'a run as of cycle 2 issues nothing');
select is((public.run_drip('00000000-0000-4000-d112-0000000000a1', now() + interval '56 days' - interval '1 microsecond') ->> 'cycles_issued')::int, 0,
  'nor one just before cycle 3');
select is(public.run_drip('00000000-0000-4000-d112-0000000000a1', now() + interval '56 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 375000, "balance_after": 375000}'::jsonb,
  'cycle 3 is issued (and cycle 1''s lot, which lapses as cycle 2 ends, is expired in it)');

select results_eq(
  $$select * from tests.drip_rows('00000000-0000-4000-d112-0000000000a1')$$,
  $$values
    (1, 375000::bigint, 0::bigint, 0,      0::bigint,      0::bigint, 375000::bigint, now(), now() + interval '28 days', now()),
    (3, 375000::bigint, 0::bigint, 0, 375000::bigint, 375000::bigint, 375000::bigint,
        now() + interval '56 days', now() + interval '84 days', now() + interval '56 days')$$,
  'rows for cycles 1 and 3 only');
select results_eq(
  $$select balance from public.token_balances where user_id = '00000000-0000-4000-d112-000000000001'$$,
  $$values (375000::bigint)$$, 'the balance is cycle 3''s drip');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d112-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
