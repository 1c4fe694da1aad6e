-- A legacy subscriber whose legacy subscription nobody linked: Stripe's events about her
-- subscription, first seen after the upgrade, record a new subscription anchored at Stripe's
-- start_date, long past. invoice.paid must not back-fill its cycles from start_date, and no
-- cycle of it may repeat one the legacy system dripped: a new subscription of a user with
-- legacy drips starts no cycle less than half a cycle after the start of the user's last
-- legacy cycle (Stripe's grid and the legacy one can be hours apart). lena's last legacy
-- cycle 3 began at H-10d; Stripe's grid runs 6 hours earlier, so its cycle 3 (H-10d-6h) is
-- that same cycle and the first one issued is cycle 4 (H+18d-6h).
begin;
select plan(7);
set local timezone to 'UTC';

insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens, drip_interval, max_rollover_cycles)
values ('default', 'price_sub_monthly', 'Subscription (28-day drips)', 375000, interval '28 days', 1);
select set_config('test.legacy_start', (select billing_period_start::text from public.token_drips
  where is_legacy and user_id = 'b2000000-0000-4000-8000-000000000012' and cycle_number = 3), true);
select set_config('test.stripe_start',
  extract(epoch from current_setting('test.legacy_start')::timestamptz - interval '56 days' - interval '6 hours')::bigint::text, true);

select tests.authenticate_as_service_role();
select is(public.handle_stripe_event(jsonb_build_object(
    'id', 'evt_legacy_lena_created', 'object', 'event', 'type', 'customer.subscription.created',
    'created', floor(extract(epoch from now()))::bigint, 'livemode', false,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', 'sub_legacy_lena', 'object', 'subscription', 'customer', 'cus_legacy_lena', 'status', 'active',
      'start_date', current_setting('test.stripe_start')::bigint, 'created', current_setting('test.stripe_start')::bigint,
      'metadata', jsonb_build_object('user_id', 'b2000000-0000-4000-8000-000000000012'),
      'items', jsonb_build_object('data', jsonb_build_array(jsonb_build_object('price', jsonb_build_object('id', 'price_sub_monthly'))))))))
  ->> 'status', 'processed', 'Stripe''s subscription is recorded');
select tests.clear_authentication();
select results_eq(
  $$select drip_anchor, next_cycle_number, next_drip_at from public.customer_subscriptions where stripe_subscription_id = 'sub_legacy_lena'$$,
  $$values (to_timestamp(current_setting('test.stripe_start')::bigint), 4,
            to_timestamp(current_setting('test.stripe_start')::bigint) + interval '84 days')$$,
  'a new subscription on Stripe''s grid, whose first cycle is the one after the legacy cycle 3');
select isnt((select id from public.customer_subscriptions where stripe_subscription_id = 'sub_legacy_lena'),
  '5b200000-0000-4000-8000-000000000012'::uuid, '(not the unlinked legacy row)');

select tests.authenticate_as_service_role();
select is(public.handle_stripe_event(jsonb_build_object(
    'id', 'evt_legacy_lena_invoice', 'object', 'event', 'type', 'invoice.paid',
    'created', floor(extract(epoch from now()))::bigint + 1, 'livemode', false,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', 'in_legacy_lena_1', 'object', 'invoice', 'amount_paid', 1999, 'billing_reason', 'subscription_create',
      'customer', 'cus_legacy_lena', 'subscription', 'sub_legacy_lena', 'status', 'paid'))))
  #>> '{result,drip,cycles_issued}', '0', 'invoice.paid issues no cycle: the one under way was dripped by the legacy system');
select is(public.run_drip((select id from public.customer_subscriptions where stripe_subscription_id = 'sub_legacy_lena'),
                          to_timestamp(current_setting('test.stripe_start')::bigint) + interval '84 days') ->> 'cycles_issued',
  '1', 'cycle 4 drips when it starts');
select tests.clear_authentication();
select results_eq(
  $$select cycle_number, billing_period_start from public.token_drips
     where user_id = 'b2000000-0000-4000-8000-000000000012' and not is_legacy$$,
  $$values (4, to_timestamp(current_setting('test.stripe_start')::bigint) + interval '84 days')$$,
  'the only new drip is cycle 4, 18 days less 6 hours from H');
select is_empty('select * from public.verify_token_ledger()', 'the ledger is consistent');

select * from finish();
rollback;
