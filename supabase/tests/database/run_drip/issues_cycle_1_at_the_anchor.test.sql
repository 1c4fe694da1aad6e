-- run_drip, first cycle: a new subscription on the default plan (375,000 tokens every 28 days,
-- unused tokens roll over one cycle) gets cycle 1 at its anchor: one token_drips row (every
-- column checked), one lot that expires when cycle 1 + max_rollover_cycles = cycle 2 ends,
-- the schedule moves to cycle 2, and the ledger stays consistent.
-- The anchor is now() (constant in the transaction); later instants are explicit as-of times.
begin;
select plan(14);
set local timezone to 'UTC';

select tests.create_subscriber('rd-first@example.test', '00000000-0000-4000-d101-000000000001', '00000000-0000-4000-d101-0000000000a1');

select is(tests.drip_schedule('00000000-0000-4000-d101-0000000000a1'), 'cycle 1 at day 0',
  'a new subscription is scheduled for cycle 1 at its anchor');
select is(tests.balance_and_debt('00000000-0000-4000-d101-000000000001'), 'balance=0 debt=0',
  'the subscriber has a balance row before the first drip');

select set_config('test.r', public.run_drip('00000000-0000-4000-d101-0000000000a1', now())::text, true);

select is(current_setting('test.r')::jsonb,
  jsonb_build_object('subscription_id', '00000000-0000-4000-d101-0000000000a1', 'cycles_issued', 1,
    'tokens_dripped', 375000, 'tokens_expired', 0, 'balance_after', 375000),
  'the result reports one cycle of 375,000 tokens and the new balance');

select results_eq(
  $$select user_id, subscription_id, plan_id, drip_amount, drip_date, cycle_number,
           rollover_from_previous, rollover_cycles_count, expired_tokens, balance_before, balance_after,
           billing_period_start, billing_period_end, metadata, created_at, is_legacy
      from public.token_drips where user_id = '00000000-0000-4000-d101-000000000001'$$,
  $$values ('00000000-0000-4000-d101-000000000001'::uuid, '00000000-0000-4000-d101-0000000000a1'::uuid, 'default'::text,
            375000::bigint, now(), 1, 0::bigint, 0, 0::bigint, 0::bigint, 375000::bigint,
            now(), now() + interval '28 days', '{"plan_id": "default", "max_rollover_cycles": 1}'::jsonb, now(), false)$$,
  'one token_drips row: cycle 1, 375,000 tokens, nothing rolled over or expired, 0 -> 375,000, period [anchor, anchor + 28 days)');
select isnt((select id from public.token_drips where user_id = '00000000-0000-4000-d101-000000000001'), null,
  'the drip row has an id');

select results_eq(
  $$select l.user_id, l.source, l.original, l.remaining, l.expires_at, l.transaction_id, l.created_at, l.subscription_id,
           l.drip_id = d.id
      from public.token_lots l join public.token_drips d on d.subscription_id = l.subscription_id
     where l.user_id = '00000000-0000-4000-d101-000000000001'$$,
  $$values ('00000000-0000-4000-d101-000000000001'::uuid, 'drip'::text, 375000::bigint, 375000::bigint,
            now() + interval '56 days', null::uuid, now(), '00000000-0000-4000-d101-0000000000a1'::uuid, true)$$,
  'one drip lot of 375,000 that expires when cycle 2 ends (anchor + 56 days), linked to the subscription and the drip');

select is(tests.drip_schedule('00000000-0000-4000-d101-0000000000a1'), 'cycle 2 at day 28',
  'the schedule moves to cycle 2, when cycle 1 ends');
select is(tests.balance_and_debt('00000000-0000-4000-d101-000000000001'), 'balance=375000 debt=0',
  'the stored balance is the drip');
select is((select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-d101-000000000001'), 0,
  'a drip writes no token_transactions row (token_drips is its ledger row)');
select is(
  (select jsonb_build_object('balance', b -> 'balance', 'lots', b -> 'lots', 'next_expiry', b -> 'next_expiry')
     from public.get_token_balance('00000000-0000-4000-d101-000000000001') b),
  jsonb_build_object('balance', 375000,
    'lots', jsonb_build_array(jsonb_build_object('source', 'drip', 'remaining', 375000, 'expires_at', now() + interval '56 days')),
    'next_expiry', now() + interval '56 days'),
  'get_token_balance shows the drip lot and its expiry');

-- The drip is spendable at once.
select is((public.record_usage('chat', 1000, 'rd-first-use', '00000000-0000-4000-d101-000000000001') ->> 'balance_after')::bigint,
  374000::bigint, 'the dripped tokens can be spent');
select is((select remaining from public.token_lots where user_id = '00000000-0000-4000-d101-000000000001'), 374000::bigint,
  'the spend came out of the drip lot');
select is((select count(*)::int from public.token_drips where user_id = '00000000-0000-4000-d101-000000000001'), 1,
  'spending (which catches up due drips as of now) issues nothing more');

select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d101-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
