-- handle_stripe_event, a subscription's life in order: checkout.session.completed in mode
-- subscription links the Stripe customer to the user; customer.subscription.created,
-- .updated and .deleted upsert public.customer_subscriptions (plan from the price of the first
-- item, periods from the item, anchor = start_date, last_stripe_event_at = event.created).
begin;
select plan(17);

select tests.create_users('hse-sub', '00000000-0000-4000-8704-000000000001', '00000000-0000-4000-8704-000000000002');
insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens) values
  ('hse_sub_plan', 'price_hse_sub', 'Lifecycle test plan', 1000),
  ('hse_sub_plan_b', 'price_hse_sub_b', 'Lifecycle test plan B', 2000);

-- checkout_session_completed_subscription.json, trimmed.
select set_config('hse.checkout', tests.paid_checkout('evt_test_hse_sub_checkout', 'cs_test_hse_sub_1', null,
  '00000000-0000-4000-8704-000000000001', null, p_amount_total => 1999, p_created => 1767225630,
  p_object => '{"customer": "cus_test_hse_sub_1", "invoice": "in_test_hse_sub_1", "metadata": {},
  "mode": "subscription", "subscription": "sub_test_hse_sub_1"}'::jsonb)::text, true);
-- customer_subscription_created.json, trimmed; no metadata.user_id: the user comes from the
-- customer linked by the checkout.
select set_config('hse.created', $${
  "id": "evt_test_hse_sub_created",
  "object": "event",
  "api_version": "2025-03-31.basil",
  "created": 1767225605,
  "data": {
    "object": {
      "id": "sub_test_hse_sub_1",
      "object": "subscription",
      "billing_cycle_anchor": 1767225600,
      "cancel_at": null,
      "cancel_at_period_end": false,
      "canceled_at": null,
      "created": 1767225600,
      "currency": "usd",
      "customer": "cus_test_hse_sub_1",
      "ended_at": null,
      "items": {
        "object": "list",
        "data": [
          {
            "id": "si_test_hse_sub_1",
            "object": "subscription_item",
            "current_period_end": 1769904000,
            "current_period_start": 1767225600,
            "price": {"id": "price_hse_sub", "object": "price", "recurring": {"interval": "month", "interval_count": 1}},
            "quantity": 1,
            "subscription": "sub_test_hse_sub_1"
          }
        ]
      },
      "latest_invoice": "in_test_hse_sub_1",
      "livemode": false,
      "metadata": {},
      "start_date": 1767225600,
      "status": "active"
    }
  },
  "livemode": false,
  "type": "customer.subscription.created"
}$$, true);

select set_config('test.link', public.handle_stripe_event(current_setting('hse.checkout')::jsonb)::text, true);
select is(current_setting('test.link')::jsonb -> 'result',
  '{"linked_customer": "cus_test_hse_sub_1", "user_id": "00000000-0000-4000-8704-000000000001"}'::jsonb,
  'a subscription checkout links the customer to the user');
select results_eq(
  $$select user_id from public.stripe_customers where stripe_customer_id = 'cus_test_hse_sub_1'$$,
  $$values ('00000000-0000-4000-8704-000000000001'::uuid)$$,
  'stripe_customers holds the link');
select is_empty($$select 1 from public.token_transactions where user_id = '00000000-0000-4000-8704-000000000001'$$,
  'a subscription checkout buys no pack');

-- created
select set_config('test.created', public.handle_stripe_event(current_setting('hse.created')::jsonb)::text, true);
select is(current_setting('test.created')::jsonb ->> 'status', 'processed', 'customer.subscription.created is processed');
select is((current_setting('test.created')::jsonb -> 'result') - 'subscription_id',
  '{"user_id": "00000000-0000-4000-8704-000000000001", "status": "active", "plan_id": "hse_sub_plan"}'::jsonb,
  'its result names the user (found through the customer), the status and the plan');
select results_eq(
  $$select id, user_id, stripe_customer_id, plan_id, status, current_period_start, current_period_end,
           cancel_at_period_end, canceled_at, drip_anchor, last_stripe_event_at, next_drip_at
      from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_sub_1'$$,
  $$values ((current_setting('test.created')::jsonb #>> '{result,subscription_id}')::uuid,
            '00000000-0000-4000-8704-000000000001'::uuid, 'cus_test_hse_sub_1'::text, 'hse_sub_plan'::text, 'active'::text,
            to_timestamp(1767225600), to_timestamp(1769904000), false, null::timestamptz,
            to_timestamp(1767225600), to_timestamp(1767225605),
            -- the fixtures are dated 2026-01-01: recorded later, drips begin with the cycle under way
            to_timestamp(1767225600) + floor(extract(epoch from now() - to_timestamp(1767225600)) / (28 * 86400)) * interval '28 days')$$,
  'the subscription row: plan from the item''s price, periods from the item, anchored at start_date');

-- updated: the renewal, switching to plan B and asking to cancel at the period's end.
select set_config('test.updated', public.handle_stripe_event(
  jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.created')::jsonb,
    '{id}', '"evt_test_hse_sub_updated"'),
    '{type}', '"customer.subscription.updated"'),
    '{created}', '1769904005'),
    '{data,object,items,data,0,current_period_start}', '1769904000'),
    '{data,object,items,data,0,current_period_end}', '1772323200'),
    '{data,object,items,data,0,price,id}', '"price_hse_sub_b"'),
    '{data,object,cancel_at_period_end}', 'true'))::text, true);
select is(current_setting('test.updated')::jsonb #>> '{result,plan_id}', 'hse_sub_plan_b', 'customer.subscription.updated is applied');
select results_eq(
  $$select plan_id, status, current_period_start, current_period_end, cancel_at_period_end, drip_anchor, last_stripe_event_at
      from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_sub_1'$$,
  $$values ('hse_sub_plan_b'::text, 'active'::text, to_timestamp(1769904000), to_timestamp(1772323200), true,
            to_timestamp(1767225600), to_timestamp(1769904005))$$,
  'the row has the new plan, period and cancel_at_period_end; the anchor stays');
select is(
  (select count(*)::int from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_sub_1'),
  1, 'still one row for the subscription');

-- deleted
select set_config('test.deleted', public.handle_stripe_event(
  jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.created')::jsonb,
    '{id}', '"evt_test_hse_sub_deleted"'),
    '{type}', '"customer.subscription.deleted"'),
    '{created}', '1772323205'),
    '{data,object,canceled_at}', '1772323200'),
    '{data,object,ended_at}', '1772323200'),
    '{data,object,status}', '"canceled"'))::text, true);
select is(current_setting('test.deleted')::jsonb #>> '{result,status}', 'canceled', 'customer.subscription.deleted cancels');
select results_eq(
  $$select status, canceled_at, last_stripe_event_at, next_drip_at
      from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_sub_1'$$,
  $$values ('canceled'::text, to_timestamp(1772323200), to_timestamp(1772323205), null::timestamptz)$$,
  'the row is canceled, with canceled_at, and will not drip again');

-- deleted says canceled whatever the status field holds.
select is(public.handle_stripe_event(
  jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.created')::jsonb,
    '{id}', '"evt_test_hse_sub_deleted_2"'),
    '{type}', '"customer.subscription.deleted"'),
    '{data,object,id}', '"sub_test_hse_sub_2"'),
    '{data,object,customer}', '"cus_test_hse_sub_2"'),
    '{data,object,metadata}', '{"user_id": "00000000-0000-4000-8704-000000000002"}'),
    '{data,object,status}', '"incomplete_expired"')) #>> '{result,status}',
  'canceled', 'a deleted event for an unknown subscription records it as canceled');
-- metadata.user_id names the user without a checkout; the customer is linked on the way.
select results_eq(
  $$select s.user_id, c.user_id from public.customer_subscriptions s
      join public.stripe_customers c on c.stripe_customer_id = s.stripe_customer_id
     where s.stripe_subscription_id = 'sub_test_hse_sub_2'$$,
  $$values ('00000000-0000-4000-8704-000000000002'::uuid, '00000000-0000-4000-8704-000000000002'::uuid)$$,
  'metadata.user_id names the user, and links the customer');

-- A customer stays linked to the user it was first linked to.
select is(public.handle_stripe_event(
  jsonb_set(jsonb_set(jsonb_set(current_setting('hse.checkout')::jsonb,
    '{id}', '"evt_test_hse_sub_checkout_2"'),
    '{data,object,id}', '"cs_test_hse_sub_2"'),
    '{data,object,client_reference_id}', '"00000000-0000-4000-8704-000000000002"')) ->> 'status',
  'processed', 'a second subscription checkout for the customer is processed');
select results_eq(
  $$select user_id from public.stripe_customers where stripe_customer_id = 'cus_test_hse_sub_1'$$,
  $$values ('00000000-0000-4000-8704-000000000001'::uuid)$$,
  'the customer keeps its first link');

-- An unknown price is an error (22023: the plan must be configured first); nothing is recorded.
select throws_ok(format('select public.handle_stripe_event(%L::jsonb)',
  jsonb_set(jsonb_set(jsonb_set(current_setting('hse.created')::jsonb,
    '{id}', '"evt_test_hse_sub_unknown_price"'),
    '{data,object,id}', '"sub_test_hse_sub_3"'),
    '{data,object,items,data,0,price,id}', '"price_hse_no_such_plan"')),
  '22023', null, 'a subscription to a price that is not in subscription_plans is 22023');
select is(
  (select array_agg(id || ':' || status order by id) from public.stripe_events where id like 'evt_test_hse_sub_%'),
  array['evt_test_hse_sub_checkout:processed', 'evt_test_hse_sub_checkout_2:processed', 'evt_test_hse_sub_created:processed',
        'evt_test_hse_sub_deleted:processed', 'evt_test_hse_sub_deleted_2:processed', 'evt_test_hse_sub_updated:processed'],
  'every applied event is recorded, the rejected one is not');

select * from finish();
rollback;
