-- handle_stripe_event, events that arrive before what they depend on raise SQLSTATE 55000
-- (the webhook answers 500, Stripe retries) and leave nothing behind, not even the event row;
-- the retry after the prerequisite is processed as a first delivery:
--   * a refund whose charge says it is a token purchase (metadata.pack_id, from the session's
--     payment_intent_data.metadata) before the purchase;
--   * invoice.paid before its subscription;
--   * a subscription without metadata.user_id before its customer is linked to a user.
-- A refund of a payment that is not a token purchase (no pack_id) is ignored instead.
begin;
select plan(17);

select tests.create_users('hse-notyet', '00000000-0000-4000-8714-000000000001', '00000000-0000-4000-8714-000000000002');
select tests.create_pack('hse_notyet_pack', 1000, 'Not yet test pack');
insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens, annual_grant_tokens) values
  ('hse_notyet_plan', 'price_hse_notyet_plan', 'Not yet test plan', 0, 500);

-- charge_refunded_full.json, trimmed, with the metadata the app sets through
-- payment_intent_data.metadata.
select set_config('hse.refund', tests.charge_refunded('evt_test_hse_notyet_refund', 'ch_test_hse_notyet_1', 'pi_test_hse_notyet_1',
  500, 500, p_created => 1768694400, p_object => '{"metadata": {"pack_id": "hse_notyet_pack",
  "user_id": "00000000-0000-4000-8714-000000000001"}}'::jsonb)::text, true);
select set_config('hse.purchase', tests.paid_checkout('evt_test_hse_notyet_purchase', 'cs_test_hse_notyet_1', 'hse_notyet_pack',
  '00000000-0000-4000-8714-000000000001', 'pi_test_hse_notyet_1')::text, true);
select set_config('hse.invoice', $${
  "id": "evt_test_hse_notyet_invoice",
  "object": "event",
  "api_version": "2025-03-31.basil",
  "created": 1767225610,
  "data": {
    "object": {
      "id": "in_test_hse_notyet_1",
      "object": "invoice",
      "amount_paid": 1999,
      "billing_reason": "subscription_create",
      "customer": "cus_test_hse_notyet_1",
      "parent": {"type": "subscription_details",
                 "subscription_details": {"metadata": {}, "subscription": "sub_test_hse_notyet_1"}},
      "status": "paid"
    }
  },
  "livemode": false,
  "type": "invoice.paid"
}$$, true);
-- The subscription names no user: only the customer's link (from the checkout) can tell.
select set_config('hse.subscription', $${
  "id": "evt_test_hse_notyet_sub_created",
  "object": "event",
  "api_version": "2025-03-31.basil",
  "created": 1767225605,
  "data": {
    "object": {
      "id": "sub_test_hse_notyet_1",
      "object": "subscription",
      "cancel_at_period_end": false,
      "customer": "cus_test_hse_notyet_1",
      "items": {"object": "list", "data": [{
        "id": "si_test_hse_notyet_1", "object": "subscription_item",
        "current_period_start": 1767225600, "current_period_end": 1769904000,
        "price": {"id": "price_hse_notyet_plan", "object": "price"}
      }]},
      "metadata": {},
      "start_date": 1767225600,
      "status": "active"
    }
  },
  "livemode": false,
  "type": "customer.subscription.created"
}$$, true);
select set_config('hse.checkout', $${
  "id": "evt_test_hse_notyet_checkout",
  "object": "event",
  "api_version": "2025-03-31.basil",
  "created": 1767225630,
  "data": {
    "object": {
      "id": "cs_test_hse_notyet_sub_1",
      "object": "checkout.session",
      "client_reference_id": "00000000-0000-4000-8714-000000000002",
      "customer": "cus_test_hse_notyet_1",
      "metadata": {},
      "mode": "subscription",
      "payment_status": "paid",
      "subscription": "sub_test_hse_notyet_1"
    }
  },
  "livemode": false,
  "type": "checkout.session.completed"
}$$, true);

-- A refund before its purchase.
select is(tests.error_sqlstate(format('select public.handle_stripe_event(%L::jsonb)', current_setting('hse.refund'))), '55000', 'a refund before its purchase is 55000');
select throws_ok(format('select public.handle_stripe_event(%L::jsonb)', current_setting('hse.refund')),
  '55000', 'charge.refunded for payment_intent pi_test_hse_notyet_1 arrived before its purchase.',
  'the message says what is missing');
select is_empty($$select 1 from public.stripe_events where id = 'evt_test_hse_notyet_refund'$$, 'the refund is not recorded');
select is(public.handle_stripe_event(current_setting('hse.purchase')::jsonb) ->> 'status', 'processed', 'the purchase arrives');
select set_config('test.retry', public.handle_stripe_event(current_setting('hse.refund')::jsonb)::text, true);
select is(current_setting('test.retry')::jsonb ->> 'status', 'processed', 'Stripe''s retry of the refund is processed');
select is(current_setting('test.retry')::jsonb #>> '{result,token_amount}', '-1000', 'and takes the tokens back');
select is(public.get_token_balance('00000000-0000-4000-8714-000000000001') ->> 'balance', '0', 'nothing is left of the purchase');

-- A refund of some other payment (no pack_id on the charge): ignored, not retried.
select set_config('test.other', public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.refund')::jsonb,
  '{id}', '"evt_test_hse_notyet_refund_other"'),
  '{data,object,payment_intent}', '"pi_test_hse_notyet_other"'),
  '{data,object,metadata}', '{}'))::text, true);
select is(current_setting('test.other')::jsonb ->> 'status', 'ignored', 'a refund of a payment that is not a token purchase is ignored');
select is(current_setting('test.other')::jsonb #>> '{result,ignored}', 'no token purchase for payment_intent pi_test_hse_notyet_other',
  'with the reason');

-- invoice.paid before its subscription; the subscription before its customer is linked.
select is(tests.error_sqlstate(format('select public.handle_stripe_event(%L::jsonb)', current_setting('hse.invoice'))), '55000', 'invoice.paid before its subscription is 55000');
select is(tests.error_sqlstate(format('select public.handle_stripe_event(%L::jsonb)', current_setting('hse.subscription'))), '55000',
  'a subscription with no metadata.user_id and an unlinked customer is 55000');
select is_empty($$select 1 from public.stripe_events where id in ('evt_test_hse_notyet_invoice', 'evt_test_hse_notyet_sub_created')$$,
  'neither is recorded');
select is_empty($$select 1 from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_notyet_1'$$,
  'no subscription row');
-- The checkout links the customer; the retries then go through in turn.
select is(public.handle_stripe_event(current_setting('hse.checkout')::jsonb) ->> 'status', 'processed', 'the checkout links the customer');
select is(public.handle_stripe_event(current_setting('hse.subscription')::jsonb) #>> '{result,user_id}',
  '00000000-0000-4000-8714-000000000002', 'the retried subscription event finds the user through the customer');
select is(public.handle_stripe_event(current_setting('hse.invoice')::jsonb) #>> '{result,grant,token_amount}', '500',
  'the retried invoice is paid: the annual grant');

select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
