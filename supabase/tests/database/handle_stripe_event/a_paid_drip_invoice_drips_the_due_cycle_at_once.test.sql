-- handle_stripe_event, invoice.paid for a subscription on a drip plan: the cycle that is due
-- now drips at once (run_drip(subscription, now())), without waiting for the cron job; a second
-- paid invoice in the same cycle drips nothing more. A paid invoice also brings a past_due
-- subscription back to active. The subscription starts now (start_date = now, whole seconds),
-- so exactly cycle 1 is due.
begin;
select plan(17);

select tests.create_user('hse-drip-alice@example.test', '00000000-0000-4000-8706-000000000001');
insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens, drip_interval, max_rollover_cycles) values
  ('hse_drip_plan', 'price_hse_drip', 'Drip test plan', 1000, interval '28 days', 1);
-- now, in whole seconds as Stripe sends times (not after now(): the cycle is due)
select set_config('test.t0', floor(extract(epoch from now()))::bigint::text, true);

-- customer_subscription_created.json, trimmed, starting now.
select set_config('hse.created', jsonb_build_object(
  'id', 'evt_test_hse_drip_created',
  'object', 'event',
  'api_version', '2025-03-31.basil',
  'created', current_setting('test.t0')::bigint,
  'type', 'customer.subscription.created',
  'livemode', false,
  'data', jsonb_build_object('object', $${
    "id": "sub_test_hse_drip_1",
    "object": "subscription",
    "cancel_at_period_end": false,
    "canceled_at": null,
    "customer": "cus_test_hse_drip_1",
    "items": {"object": "list", "data": [{
      "id": "si_test_hse_drip_1",
      "object": "subscription_item",
      "price": {"id": "price_hse_drip", "object": "price"},
      "quantity": 1
    }]},
    "metadata": {"user_id": "00000000-0000-4000-8706-000000000001"},
    "status": "active"
  }$$::jsonb
    || jsonb_build_object('start_date', current_setting('test.t0')::bigint, 'created', current_setting('test.t0')::bigint)))::text,
  true);
-- invoice_paid_subscription_create.json, trimmed.
select set_config('hse.invoice', jsonb_build_object(
  'id', 'evt_test_hse_drip_invoice_1',
  'object', 'event',
  'api_version', '2025-03-31.basil',
  'created', current_setting('test.t0')::bigint + 5,
  'type', 'invoice.paid',
  'livemode', false,
  'data', jsonb_build_object('object', $${
    "id": "in_test_hse_drip_1",
    "object": "invoice",
    "amount_due": 1999,
    "amount_paid": 1999,
    "amount_remaining": 0,
    "billing_reason": "subscription_create",
    "currency": "usd",
    "customer": "cus_test_hse_drip_1",
    "parent": {
      "type": "subscription_details",
      "subscription_details": {
        "metadata": {"user_id": "00000000-0000-4000-8706-000000000001"},
        "subscription": "sub_test_hse_drip_1"
      }
    },
    "subscription": "sub_test_hse_drip_1",
    "status": "paid"
  }$$::jsonb))::text,
  true);

select is(public.handle_stripe_event(current_setting('hse.created')::jsonb) ->> 'status', 'processed', 'the subscription is recorded');
select is_empty($$select 1 from public.token_drips where user_id = '00000000-0000-4000-8706-000000000001'$$,
  'recording the subscription drips nothing by itself');

select set_config('test.paid', public.handle_stripe_event(current_setting('hse.invoice')::jsonb)::text, true);
select is(current_setting('test.paid')::jsonb ->> 'status', 'processed', 'invoice.paid is processed');
select is((current_setting('test.paid')::jsonb #> '{result,drip}') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 1000, "tokens_expired": 0, "balance_after": 1000}'::jsonb,
  'it drips the cycle that is due: cycle 1');
select is(current_setting('test.paid')::jsonb #>> '{result,subscription_id}',
  (select id::text from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_drip_1'),
  'the result names the subscription');
select results_eq(
  $$select cycle_number, drip_amount, balance_before, balance_after, billing_period_start, billing_period_end, plan_id
      from public.token_drips where user_id = '00000000-0000-4000-8706-000000000001'$$,
  $$values (1, 1000::bigint, 0::bigint, 1000::bigint, to_timestamp(current_setting('test.t0')::bigint),
            to_timestamp(current_setting('test.t0')::bigint) + interval '28 days', 'hse_drip_plan'::text)$$,
  'one token_drips row: cycle 1, starting at start_date');
select results_eq(
  $$select source, original, remaining, expires_at from public.token_lots where user_id = '00000000-0000-4000-8706-000000000001'$$,
  $$values ('drip'::text, 1000::bigint, 1000::bigint, to_timestamp(current_setting('test.t0')::bigint) + interval '56 days')$$,
  'the drip is a lot that lapses after one rollover cycle');
select results_eq(
  $$select next_cycle_number, next_drip_at from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_drip_1'$$,
  $$values (2, to_timestamp(current_setting('test.t0')::bigint) + interval '28 days')$$,
  'the next cycle is 2, due 28 days after the start');
select is_empty($$select 1 from public.token_transactions where user_id = '00000000-0000-4000-8706-000000000001'$$,
  'a drip plan gets no subscription_grant');

-- Another paid invoice in the same cycle (say a proration), in the pre-2025-03-31 shape (the
-- subscription at the top level, no parent): nothing more is due.
select set_config('test.paid2', public.handle_stripe_event(
  jsonb_set(jsonb_set(jsonb_set(current_setting('hse.invoice')::jsonb #- '{data,object,parent}',
    '{id}', '"evt_test_hse_drip_invoice_2"'),
    '{data,object,id}', '"in_test_hse_drip_2"'),
    '{data,object,billing_reason}', '"subscription_update"'))::text, true);
select is(current_setting('test.paid2')::jsonb #>> '{result,drip,cycles_issued}', '0', 'a second invoice in the cycle drips nothing');
select is(public.get_token_balance('00000000-0000-4000-8706-000000000001') ->> 'balance', '1000', 'the balance holds one drip');

-- Spending later does not drip again either (the lazy catch-up finds nothing due).
select public.record_usage('chat', 100, 'hse-drip-usage-1', '00000000-0000-4000-8706-000000000001');
select is((select count(*)::int from public.token_drips where user_id = '00000000-0000-4000-8706-000000000001'), 1,
  'still one drip after usage');
select is(public.get_token_balance('00000000-0000-4000-8706-000000000001') ->> 'balance', '900', 'usage spent from the drip');

-- past_due, then paid: active again.
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.created')::jsonb,
    '{id}', '"evt_test_hse_drip_past_due"'),
    '{type}', '"customer.subscription.updated"'),
    '{created}', to_jsonb(current_setting('test.t0')::bigint + 10)),
    '{data,object,status}', '"past_due"')) #>> '{result,status}',
  'past_due', 'the subscription goes past_due');
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.invoice')::jsonb,
    '{id}', '"evt_test_hse_drip_invoice_3"'),
    '{created}', to_jsonb(current_setting('test.t0')::bigint + 20)),
    '{data,object,id}', '"in_test_hse_drip_3"')) ->> 'status',
  'processed', 'the retried invoice is paid');
select results_eq(
  $$select status, last_stripe_event_at from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_drip_1'$$,
  $$values ('active'::text, to_timestamp(current_setting('test.t0')::bigint + 20))$$,
  'a paid invoice brings a past_due subscription back to active');

select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
