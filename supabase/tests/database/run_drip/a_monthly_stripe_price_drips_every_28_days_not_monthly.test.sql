-- A subscription to a monthly Stripe price (the seed's price_sub_monthly: plan `default`) still
-- drips every 28 days from its start, whatever Stripe's monthly billing periods say: 13 drips
-- in the 364 days after the start (Stripe bills 12 times a year; a year from the start holds
-- 14 drip dates, day 0 and day 364 included). A renewal event moving Stripe's period does not
-- move the drips.
begin;
select plan(6);
set local timezone to 'UTC';

select tests.create_user('rd-monthly@example.test', '00000000-0000-4000-d1a9-000000000001');
-- The start, in whole seconds as Stripe sends times.
select set_config('test.t0', extract(epoch from date_trunc('second', now()))::bigint::text, true);

-- customer.subscription.created, then .updated at the first renewal: periods of one month.
create temporary table events on commit drop as
select e.id, jsonb_build_object(
  'id', e.id, 'object', 'event', 'type', e.type, 'created', e.created, 'livemode', false,
  'api_version', '2025-03-31.basil',
  'data', jsonb_build_object('object', jsonb_build_object(
    'id', 'sub_test_rd_monthly', 'object', 'subscription', 'status', 'active',
    'customer', 'cus_test_rd_monthly', 'metadata', jsonb_build_object('user_id', '00000000-0000-4000-d1a9-000000000001'),
    'start_date', t.t0, 'created', t.t0, 'cancel_at_period_end', false, 'canceled_at', null,
    'items', jsonb_build_object('object', 'list', 'data', jsonb_build_array(jsonb_build_object(
      'id', 'si_test_rd_monthly', 'object', 'subscription_item',
      'price', jsonb_build_object('id', 'price_sub_monthly', 'object', 'price',
                                  'recurring', jsonb_build_object('interval', 'month', 'interval_count', 1)),
      'current_period_start', e.period_start, 'current_period_end', e.period_end)))))) as event
from (select current_setting('test.t0')::bigint as t0) t,
lateral (values
  ('evt_test_rd_monthly_created', 'customer.subscription.created', t.t0 + 5, t.t0,
   extract(epoch from to_timestamp(t.t0) + interval '1 month')::bigint),
  ('evt_test_rd_monthly_renewed', 'customer.subscription.updated',
   extract(epoch from to_timestamp(t.t0) + interval '1 month')::bigint + 5,
   extract(epoch from to_timestamp(t.t0) + interval '1 month')::bigint,
   extract(epoch from to_timestamp(t.t0) + interval '2 months')::bigint)
) as e(id, type, created, period_start, period_end);

select is(
  (select array_agg(public.handle_stripe_event(event) ->> 'status' order by id) from events),
  array['processed', 'processed'], 'both subscription events apply');
select results_eq(
  $$select plan_id, drip_anchor, current_period_end from public.customer_subscriptions
     where stripe_subscription_id = 'sub_test_rd_monthly'$$,
  $$select 'default'::text, to_timestamp(current_setting('test.t0')::bigint),
           to_timestamp(current_setting('test.t0')::bigint) + interval '2 months'$$,
  'the monthly price is the 28-day plan, anchored at the start; Stripe''s period is a month');

select set_config('test.sub', (select id::text from public.customer_subscriptions
                                where stripe_subscription_id = 'sub_test_rd_monthly'), true);
select set_config('test.r', public.run_drip(current_setting('test.sub')::uuid,
  to_timestamp(current_setting('test.t0')::bigint) + interval '364 days' - interval '1 second')::text, true);

select is((current_setting('test.r')::jsonb ->> 'cycles_issued')::int, 13,
  '13 drips in the 364 days after the start');
select is(
  (select array_agg(extract(epoch from d.drip_date - to_timestamp(current_setting('test.t0')::bigint))::bigint / 86400
                    order by d.cycle_number)
     from public.token_drips d where d.subscription_id = current_setting('test.sub')::uuid),
  array[0, 28, 56, 84, 112, 140, 168, 196, 224, 252, 280, 308, 336]::bigint[],
  'one every 28 days from the start (days 0, 28, ... 336), none on Stripe''s monthly dates');
select is((select next_drip_at from public.customer_subscriptions where id = current_setting('test.sub')::uuid),
  to_timestamp(current_setting('test.t0')::bigint) + interval '364 days',
  'the 14th comes on day 364, still within a year of the start');
select is((public.run_drip(current_setting('test.sub')::uuid,
             to_timestamp(current_setting('test.t0')::bigint) + interval '365 days') ->> 'cycles_issued')::int, 1,
  'so a year from the start holds 14 drip dates');

select * from finish();
rollback;
