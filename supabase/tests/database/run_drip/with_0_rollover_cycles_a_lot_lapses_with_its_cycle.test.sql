-- Expiry after max_rollover_cycles = 0: a drip lot expires when its own cycle ends. At the
-- next boundary whatever is left of it lapses into that cycle's expired_tokens and nothing
-- rolls over.
begin;
select plan(7);
set local timezone to 'UTC';

insert into public.subscription_plans (id, name, drip_tokens, drip_interval, max_rollover_cycles, max_rollover_tokens)
values ('rd-rollover-0', 'No rollover', 375000, interval '28 days', 0, null);
select tests.create_subscriber('rd-rollover0@example.test', '00000000-0000-4000-d105-000000000001', '00000000-0000-4000-d105-0000000000a1', 'rd-rollover-0');

select public.run_drip('00000000-0000-4000-d105-0000000000a1', now());
select is((select expires_at from public.token_lots where user_id = '00000000-0000-4000-d105-000000000001'),
  now() + interval '28 days', 'the cycle 1 lot expires when cycle 1 ends');
select public.record_usage('chat', 100000, 'rd-rollover0-1', '00000000-0000-4000-d105-000000000001');

select is(public.run_drip('00000000-0000-4000-d105-0000000000a1', now() + interval '28 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 275000, "balance_after": 375000}'::jsonb,
  'cycle 2: the 275,000 left of cycle 1 expire');
select is(public.run_drip('00000000-0000-4000-d105-0000000000a1', now() + interval '56 days') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 375000, "balance_after": 375000}'::jsonb,
  'cycle 3: all of cycle 2 expires');

select results_eq(
  $$select cycle_number, drip_amount, rollover_from_previous, rollover_cycles_count, expired_tokens, balance_before, balance_after,
           billing_period_start, billing_period_end, drip_date, plan_id, metadata
      from public.token_drips where subscription_id = '00000000-0000-4000-d105-0000000000a1' order by cycle_number$$,
  $$values
    (1, 375000::bigint, 0::bigint, 0,      0::bigint,      0::bigint, 375000::bigint, now(), now() + interval '28 days', now(),
        'rd-rollover-0'::text, '{"plan_id": "rd-rollover-0", "max_rollover_cycles": 0}'::jsonb),
    (2, 375000::bigint, 0::bigint, 0, 275000::bigint, 275000::bigint, 375000::bigint,
        now() + interval '28 days', now() + interval '56 days', now() + interval '28 days',
        'rd-rollover-0', '{"plan_id": "rd-rollover-0", "max_rollover_cycles": 0}'),
    (3, 375000::bigint, 0::bigint, 0, 375000::bigint, 375000::bigint, 375000::bigint,
        now() + interval '56 days', now() + interval '84 days', now() + interval '56 days',
        'rd-rollover-0', '{"plan_id": "rd-rollover-0", "max_rollover_cycles": 0}')$$,
  'nothing ever rolls over; each boundary expires the previous cycle''s leftovers');
select results_eq(
  $$select d.cycle_number, l.remaining, l.expires_at from public.token_lots l join public.token_drips d on d.id = l.drip_id
     where l.user_id = '00000000-0000-4000-d105-000000000001' order by d.cycle_number$$,
  $$values (1, 0::bigint, now() + interval '28 days'), (2, 0::bigint, now() + interval '56 days'), (3, 375000::bigint, now() + interval '84 days')$$,
  'only the current cycle''s lot holds tokens');
select results_eq(
  $$select balance from public.token_balances where user_id = '00000000-0000-4000-d105-000000000001'$$,
  $$values (375000::bigint)$$, 'the balance is one drip');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d105-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
