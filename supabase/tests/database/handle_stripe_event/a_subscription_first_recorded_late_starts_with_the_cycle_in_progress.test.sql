-- A Stripe subscription that the ledger first hears of after its start_date (the webhook was
-- set up later, the subscription predates the upgrade, an old event resent) keeps start_date
-- as its anchor, and its drips begin with the cycle in progress when it is recorded: the
-- cycles that ended before are not back-filled (they would expire on the spot and only repay
-- debt). So invoice.paid issues the cycle that is due, once, numbered on the anchor's grid.
-- Here start_date is 300 days ago: cycles 1 to 10 have ended, cycle 11 began 20 days ago.
begin;
select plan(7);
set local timezone to 'UTC';

select tests.create_user('hse-late-sub@example.test', '00000000-0000-4000-87a7-000000000001');
select set_config('test.t0', floor(extract(epoch from now()))::bigint::text, true);
select set_config('test.start', (current_setting('test.t0')::bigint - 300 * 86400)::text, true);

select is(public.handle_stripe_event(jsonb_build_object(
    'id', 'evt_test_hse_late_updated', 'object', 'event', 'type', 'customer.subscription.updated',
    'created', current_setting('test.t0')::bigint, 'livemode', false,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', 'sub_test_hse_late_1', 'object', 'subscription', 'customer', 'cus_test_hse_late_1', 'status', 'active',
      'start_date', current_setting('test.start')::bigint, 'created', current_setting('test.start')::bigint,
      'metadata', jsonb_build_object('user_id', '00000000-0000-4000-87a7-000000000001'),
      'items', jsonb_build_object('data', jsonb_build_array(jsonb_build_object('price', jsonb_build_object('id', 'price_sub_monthly'))))))))
  ->> 'status', 'processed', 'the subscription is recorded, 300 days after it started');
select results_eq(
  $$select drip_anchor, next_cycle_number, next_drip_at from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_late_1'$$,
  $$values (to_timestamp(current_setting('test.start')::bigint), 11,
            to_timestamp(current_setting('test.start')::bigint) + interval '280 days')$$,
  'anchored at start_date; the next cycle is the one in progress, 11');

select is((public.handle_stripe_event(jsonb_build_object(
    'id', 'evt_test_hse_late_invoice', 'object', 'event', 'type', 'invoice.paid',
    'created', current_setting('test.t0')::bigint + 5, 'livemode', false,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', 'in_test_hse_late_1', 'object', 'invoice', 'amount_paid', 1999, 'billing_reason', 'subscription_cycle',
      'customer', 'cus_test_hse_late_1', 'subscription', 'sub_test_hse_late_1', 'status', 'paid'))))
  #> '{result,drip}') - 'subscription_id' - 'balance_after',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 0}'::jsonb,
  'invoice.paid issues the cycle that is due: one');
select results_eq(
  $$select cycle_number, billing_period_start from public.token_drips where user_id = '00000000-0000-4000-87a7-000000000001'$$,
  $$values (11, to_timestamp(current_setting('test.start')::bigint) + interval '280 days')$$,
  'cycle 11, which began 20 days ago');
select results_eq(
  $$select remaining, expires_at from public.token_lots where user_id = '00000000-0000-4000-87a7-000000000001'$$,
  $$values (375000::bigint, to_timestamp(current_setting('test.start')::bigint) + interval '336 days')$$,
  'its lot lapses when cycle 12 ends, as every drip does');
select is((select count(*)::int from public.token_drips where user_id = '00000000-0000-4000-87a7-000000000001'), 1,
  'no earlier cycle was back-filled');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-87a7-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
