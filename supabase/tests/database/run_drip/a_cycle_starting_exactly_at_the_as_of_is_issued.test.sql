-- Boundary instants: a cycle that starts exactly at the as-of is issued; one microsecond
-- earlier it is not. A drip lot lapses exactly when its last cycle ends (it is expired in the
-- row of the cycle that starts at that instant, not before).
begin;
select plan(9);
set local timezone to 'UTC';

select tests.create_subscriber('rd-boundary@example.test', '00000000-0000-4000-d115-000000000001', '00000000-0000-4000-d115-0000000000a1');

select is((public.run_drip('00000000-0000-4000-d115-0000000000a1', now() - interval '1 microsecond') ->> 'cycles_issued')::int, 0,
  'one microsecond before the anchor: cycle 1 is not due');
select is((select count(*)::int from public.token_drips where user_id = '00000000-0000-4000-d115-000000000001'), 0, 'no row');
select is((public.run_drip('00000000-0000-4000-d115-0000000000a1', now()) ->> 'cycles_issued')::int, 1,
  'exactly at the anchor: cycle 1 is issued');
select is((public.run_drip('00000000-0000-4000-d115-0000000000a1', now() + interval '28 days' - interval '1 microsecond') ->> 'cycles_issued')::int, 0,
  'one microsecond before cycle 2: not due');
select is((public.run_drip('00000000-0000-4000-d115-0000000000a1', now() + interval '28 days') ->> 'cycles_issued')::int, 1,
  'exactly at cycle 2''s start: issued');
select is((public.run_drip('00000000-0000-4000-d115-0000000000a1', now() + interval '56 days' - interval '1 microsecond') ->> 'cycles_issued')::int, 0,
  'one microsecond before cycle 3: not due');
select is(public.run_drip('00000000-0000-4000-d115-0000000000a1', now() + interval '56 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 375000, "balance_after": 750000}'::jsonb,
  'exactly at cycle 3''s start: issued, and cycle 1''s lot (expires_at = that instant) lapses in it');
select results_eq(
  $$select cycle_number, billing_period_start, billing_period_end, expired_tokens from public.token_drips
     where subscription_id = '00000000-0000-4000-d115-0000000000a1' order by cycle_number$$,
  $$values (1, now(), now() + interval '28 days', 0::bigint),
           (2, now() + interval '28 days', now() + interval '56 days', 0::bigint),
           (3, now() + interval '56 days', now() + interval '84 days', 375000::bigint)$$,
  'each period ends exactly where the next begins');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d115-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
