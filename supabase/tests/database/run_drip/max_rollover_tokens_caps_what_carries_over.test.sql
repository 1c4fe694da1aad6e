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

insert into public.subscription_plans (id, name, drip_tokens, drip_interval, max_rollover_cycles, max_rollover_tokens) values
  ('rd-cap-500k', 'Capped rollover', 375000, interval '28 days', 2, 500000),
  ('rd-cap-0', 'Rollover capped at 0', 375000, interval '28 days', 2, 0);
select tests.create_user('rd-cap@example.test', '00000000-0000-4000-d108-000000000001');
select tests.create_user('rd-cap0@example.test', '00000000-0000-4000-d108-000000000002');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-d108-0000000000a1', '00000000-0000-4000-d108-000000000001', 'rd-cap-500k', 'active', now()),
  ('00000000-0000-4000-d108-0000000000a2', '00000000-0000-4000-d108-000000000002', 'rd-cap-0', 'active', now());

select public.run_drip('00000000-0000-4000-d108-0000000000a1', now());
select public.run_drip('00000000-0000-4000-d108-0000000000a1', now() + interval '28 days');
select is(public.run_drip('00000000-0000-4000-d108-0000000000a1', now() + interval '56 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 250000, "balance_after": 875000}'::jsonb,
  'cycle 3: 250,000 over the cap are cut');
select results_eq(
  $$select d.cycle_number, l.remaining from public.token_lots l join public.token_drips d on d.id = l.drip_id
     where l.user_id = '00000000-0000-4000-d108-000000000001' order by d.cycle_number$$,
  $$values (1, 125000::bigint), (2, 375000::bigint), (3, 375000::bigint)$$,
  'the cut came out of cycle 1''s lot, the soonest to expire');
select is(public.run_drip('00000000-0000-4000-d108-0000000000a1', now() + interval '84 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 375000, "balance_after": 875000}'::jsonb,
  'cycle 4: 125,000 lapse and 250,000 are cut');
select results_eq(
  $$select d.cycle_number, l.remaining from public.token_lots l join public.token_drips d on d.id = l.drip_id
     where l.user_id = '00000000-0000-4000-d108-000000000001' order by d.cycle_number$$,
  $$values (1, 0::bigint), (2, 125000::bigint), (3, 375000::bigint), (4, 375000::bigint)$$,
  'cycle 1''s lot lapsed; the cut came out of cycle 2''s lot, now the soonest to expire');
select results_eq(
  $$select * from tests.drip_rows('00000000-0000-4000-d108-0000000000a1')$$,
  $$values
    (1, 375000::bigint,      0::bigint, 0,      0::bigint,      0::bigint, 375000::bigint, now(), now() + interval '28 days', now()),
    (2, 375000::bigint, 375000::bigint, 1,      0::bigint, 375000::bigint, 750000::bigint,
        now() + interval '28 days', now() + interval '56 days', now() + interval '28 days'),
    (3, 375000::bigint, 500000::bigint, 2, 250000::bigint, 750000::bigint, 875000::bigint,
        now() + interval '56 days', now() + interval '84 days', now() + interval '56 days'),
    (4, 375000::bigint, 500000::bigint, 2, 375000::bigint, 875000::bigint, 875000::bigint,
        now() + interval '84 days', now() + interval '112 days', now() + interval '84 days')$$,
  'the rows: at most 500,000 carried, lapse and cut together in expired_tokens');

-- a cap of 0
select public.run_drip('00000000-0000-4000-d108-0000000000a2', now());
select public.run_drip('00000000-0000-4000-d108-0000000000a2', now() + interval '28 days');
select results_eq(
  $$select cycle_number, rollover_from_previous, rollover_cycles_count, expired_tokens, balance_before, balance_after
      from public.token_drips where subscription_id = '00000000-0000-4000-d108-0000000000a2' order by cycle_number$$,
  $$values (1, 0::bigint, 0, 0::bigint, 0::bigint, 375000::bigint), (2, 0::bigint, 0, 375000::bigint, 375000::bigint, 375000::bigint)$$,
  'a cap of 0: everything is cut at the boundary, nothing carries, no lot counts');

select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d108-000000000001')$$, 'the ledger is consistent (cap 500,000)');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d108-000000000002')$$, 'the ledger is consistent (cap 0)');

select * from finish();
rollback;
