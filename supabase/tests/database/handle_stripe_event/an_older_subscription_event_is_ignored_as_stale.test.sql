-- handle_stripe_event, subscription events out of order: each applies only if its
-- event.created is not older than the last event applied to the subscription
-- (last_stripe_event_at); an older one is recorded as ignored ("stale") and the row keeps the
-- newer state. canceled is terminal: no later event brings a subscription back.
begin;
select plan(16);

select tests.create_user('hse-stale-alice@example.test', '00000000-0000-4000-8705-000000000001');
insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens) values
  ('hse_stale_plan', 'price_hse_stale', 'Stale test plan', 1000);

-- customer_subscription_updated.json, trimmed: status past_due in the Feb 1 -> Mar 1 period,
-- created 1769904005.
select set_config('hse.newer', $${
  "id": "evt_test_hse_stale_newer",
  "object": "event",
  "api_version": "2025-03-31.basil",
  "created": 1769904005,
  "data": {
    "object": {
      "id": "sub_test_hse_stale_1",
      "object": "subscription",
      "billing_cycle_anchor": 1767225600,
      "cancel_at_period_end": false,
      "canceled_at": null,
      "created": 1767225600,
      "customer": "cus_test_hse_stale_1",
      "items": {
        "object": "list",
        "data": [
          {
            "id": "si_test_hse_stale_1",
            "object": "subscription_item",
            "current_period_end": 1772323200,
            "current_period_start": 1769904000,
            "price": {"id": "price_hse_stale", "object": "price"},
            "quantity": 1
          }
        ]
      },
      "metadata": {"user_id": "00000000-0000-4000-8705-000000000001"},
      "start_date": 1767225600,
      "status": "past_due"
    },
    "previous_attributes": {"status": "active"}
  },
  "livemode": false,
  "type": "customer.subscription.updated"
}$$, true);
-- An older update (created 1768000000): active, Jan 1 -> Feb 1, cancel_at_period_end.
select set_config('hse.older', jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(
  current_setting('hse.newer')::jsonb,
  '{id}', '"evt_test_hse_stale_older"'),
  '{created}', '1768000000'),
  '{data,object,status}', '"active"'),
  '{data,object,cancel_at_period_end}', 'true'),
  '{data,object,items,data,0,current_period_start}', '1767225600'),
  '{data,object,items,data,0,current_period_end}', '1769904000')::text, true);
-- The created event (created 1767225605), delivered last of the three.
select set_config('hse.created', jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(
  current_setting('hse.newer')::jsonb,
  '{id}', '"evt_test_hse_stale_created"'),
  '{type}', '"customer.subscription.created"'),
  '{created}', '1767225605'),
  '{data,object,status}', '"active"'),
  '{data,object,items,data,0,current_period_start}', '1767225600'),
  '{data,object,items,data,0,current_period_end}', '1769904000')::text, true);

create function pg_temp.state() returns text language sql as $f$
  select format('%s %s..%s cancel_at_period_end=%s last=%s', s.status,
    extract(epoch from s.current_period_start)::bigint, extract(epoch from s.current_period_end)::bigint,
    s.cancel_at_period_end, extract(epoch from s.last_stripe_event_at)::bigint)
  from public.customer_subscriptions s where s.stripe_subscription_id = 'sub_test_hse_stale_1'
$f$;

-- The newer event first: it creates the row.
select is(public.handle_stripe_event(current_setting('hse.newer')::jsonb) ->> 'status', 'processed',
  'the newer update, delivered first, is processed');
select is(pg_temp.state(), 'past_due 1769904000..1772323200 cancel_at_period_end=f last=1769904005',
  'the row holds the newer state');

-- Then the older one: ignored, the row keeps the newer state.
select set_config('test.older', public.handle_stripe_event(current_setting('hse.older')::jsonb)::text, true);
select is(current_setting('test.older')::jsonb ->> 'status', 'ignored', 'the older update, delivered second, is ignored');
select is(current_setting('test.older')::jsonb #>> '{result,ignored}', 'stale event: a newer event already set this subscription',
  'as stale');
select results_eq($$select status, error from public.stripe_events where id = 'evt_test_hse_stale_older'$$,
  $$values ('ignored'::text, 'stale event: a newer event already set this subscription'::text)$$,
  'it is recorded as ignored, with the reason');
select is(pg_temp.state(), 'past_due 1769904000..1772323200 cancel_at_period_end=f last=1769904005',
  'the row keeps the newer state');

-- The created event, last: stale too. Still one row.
select is(public.handle_stripe_event(current_setting('hse.created')::jsonb) ->> 'status', 'ignored',
  'customer.subscription.created arriving after an update is stale');
select is(pg_temp.state(), 'past_due 1769904000..1772323200 cancel_at_period_end=f last=1769904005',
  'the row still keeps the newest state');
select is((select count(*)::int from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_stale_1'),
  1, 'one row for the subscription');

-- Recovered (active again), then deleted.
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.newer')::jsonb,
  '{id}', '"evt_test_hse_stale_recovered"'), '{created}', '1770000000'), '{data,object,status}', '"active"')) ->> 'status',
  'processed', 'a newer update applies');
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.newer')::jsonb,
  '{id}', '"evt_test_hse_stale_deleted"'), '{type}', '"customer.subscription.deleted"'), '{created}', '1772323205'),
  '{data,object,status}', '"canceled"'), '{data,object,canceled_at}', '1772323200')) #>> '{result,status}',
  'canceled', 'the deletion applies');

-- An update older than the deletion, delivered after it: stale.
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.newer')::jsonb,
  '{id}', '"evt_test_hse_stale_late"'), '{created}', '1771000000'), '{data,object,status}', '"active"')) ->> 'status',
  'ignored', 'an update older than the deletion is ignored');
select is(pg_temp.state(), 'canceled 1769904000..1772323200 cancel_at_period_end=f last=1772323205',
  'the subscription stays canceled');

-- Even an event newer than the deletion does not revive it (Stripe never does).
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.newer')::jsonb,
  '{id}', '"evt_test_hse_stale_after"'), '{created}', '1772400000'), '{data,object,status}', '"active"')) #>> '{result,status}',
  'canceled', 'an event newer than the deletion answers canceled');
select results_eq(
  $$select status, canceled_at, next_drip_at, last_stripe_event_at from public.customer_subscriptions
     where stripe_subscription_id = 'sub_test_hse_stale_1'$$,
  $$values ('canceled'::text, to_timestamp(1772323200), null::timestamptz, to_timestamp(1772400000))$$,
  'canceled is terminal: status, canceled_at and the stopped schedule stay');
select is(
  (select array_agg(id || ':' || status order by created) from public.stripe_events where id like 'evt_test_hse_stale_%'),
  array['evt_test_hse_stale_created:ignored', 'evt_test_hse_stale_older:ignored', 'evt_test_hse_stale_newer:processed',
        'evt_test_hse_stale_recovered:processed', 'evt_test_hse_stale_late:ignored', 'evt_test_hse_stale_deleted:processed',
        'evt_test_hse_stale_after:processed'],
  'every event is recorded, the stale ones as ignored');

select * from finish();
rollback;
