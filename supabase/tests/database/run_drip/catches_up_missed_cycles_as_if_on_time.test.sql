-- run_drip catches up: five cycles that came due without a run are issued by one call, in
-- order, each exactly as if it had run on time (its own period, rollover and expiry; the drip
-- date is the cycle's start, not the time of the run).
begin;
select plan(7);
set local timezone to 'UTC';

select tests.create_subscriber('rd-catchup@example.test', '00000000-0000-4000-d109-000000000001', '00000000-0000-4000-d109-0000000000a1');

select is(public.run_drip('00000000-0000-4000-d109-0000000000a1', now() + interval '112 days'),
  jsonb_build_object('subscription_id', '00000000-0000-4000-d109-0000000000a1', 'cycles_issued', 5,
    'tokens_dripped', 1875000, 'tokens_expired', 1125000, 'balance_after', 750000),
  'one call as of the start of cycle 5 issues cycles 1 to 5 (3 x 375,000 expired on the way)');

select results_eq(
  $$select * from tests.drip_rows('00000000-0000-4000-d109-0000000000a1')$$,
  $$values
    (1, 375000::bigint,      0::bigint, 0,      0::bigint,      0::bigint, 375000::bigint, now(), now() + interval '28 days', now()),
    (2, 375000::bigint, 375000::bigint, 1,      0::bigint, 375000::bigint, 750000::bigint,
        now() + interval '28 days', now() + interval '56 days', now() + interval '28 days'),
    (3, 375000::bigint, 375000::bigint, 1, 375000::bigint, 750000::bigint, 750000::bigint,
        now() + interval '56 days', now() + interval '84 days', now() + interval '56 days'),
    (4, 375000::bigint, 375000::bigint, 1, 375000::bigint, 750000::bigint, 750000::bigint,
        now() + interval '84 days', now() + interval '112 days', now() + interval '84 days'),
    (5, 375000::bigint, 375000::bigint, 1, 375000::bigint, 750000::bigint, 750000::bigint,
        now() + interval '112 days', now() + interval '140 days', now() + interval '112 days')$$,
  'each cycle''s row is what an on-time run would have written');
select is((select array_agg(distinct created_at) from public.token_drips where subscription_id = '00000000-0000-4000-d109-0000000000a1'),
  array[now()], 'all five rows were written by this run (created_at), dated by their cycles (drip_date)');
select results_eq(
  $$select d.cycle_number, l.remaining, l.expires_at, l.created_at from public.token_lots l join public.token_drips d on d.id = l.drip_id
     where l.user_id = '00000000-0000-4000-d109-000000000001' order by d.cycle_number$$,
  $$values (1, 0::bigint, now() + interval '56 days', now()),
           (2, 0::bigint, now() + interval '84 days', now() + interval '28 days'),
           (3, 0::bigint, now() + interval '112 days', now() + interval '56 days'),
           (4, 375000::bigint, now() + interval '140 days', now() + interval '84 days'),
           (5, 375000::bigint, now() + interval '168 days', now() + interval '112 days')$$,
  'five lots; the three oldest lapsed on schedule');
select results_eq(
  $$select next_cycle_number, next_drip_at from public.customer_subscriptions where id = '00000000-0000-4000-d109-0000000000a1'$$,
  $$values (6, now() + interval '140 days')$$, 'the schedule waits for cycle 6');
select is(tests.balance_and_debt('00000000-0000-4000-d109-000000000001'), 'balance=750000 debt=0', 'the balance holds the last two drips');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d109-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
