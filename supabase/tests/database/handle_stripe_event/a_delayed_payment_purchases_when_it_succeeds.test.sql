-- handle_stripe_event, a delayed payment method (bank debit): checkout.session.completed
-- arrives with payment_status unpaid and grants nothing (ignored: the money has not arrived);
-- checkout.session.async_payment_succeeded for the same session makes the purchase.
-- A failed payment (async_payment_failed) is not handled: nothing was granted, nothing to undo.
begin;
select plan(13);

select tests.create_user('hse-async-alice@example.test', '00000000-0000-4000-8703-000000000001');
select tests.create_pack('hse_async_pack', 1000, 'Async test pack');

-- checkout_session_completed_payment_unpaid.json, trimmed.
select set_config('hse.unpaid', tests.paid_checkout('evt_test_hse_async_unpaid', 'cs_test_hse_async_1', 'hse_async_pack',
  '00000000-0000-4000-8703-000000000001', 'pi_test_hse_async_1', p_created => 1768435320,
  p_object => '{"payment_method_types": ["us_bank_account"], "payment_status": "unpaid"}'::jsonb)::text, true);
-- checkout_session_async_payment_succeeded.json, trimmed: the same session, now paid.
select set_config('hse.succeeded', $${
  "id": "evt_test_hse_async_succeeded",
  "object": "event",
  "api_version": "2025-03-31.basil",
  "created": 1768694400,
  "data": {
    "object": {
      "id": "cs_test_hse_async_1",
      "object": "checkout.session",
      "amount_total": 500,
      "client_reference_id": "00000000-0000-4000-8703-000000000001",
      "currency": "usd",
      "customer": null,
      "metadata": {"pack_id": "hse_async_pack"},
      "mode": "payment",
      "payment_intent": "pi_test_hse_async_1",
      "payment_method_types": ["us_bank_account"],
      "payment_status": "paid",
      "status": "complete"
    }
  },
  "livemode": false,
  "type": "checkout.session.async_payment_succeeded"
}$$, true);

select set_config('test.unpaid', public.handle_stripe_event(current_setting('hse.unpaid')::jsonb)::text, true);
select is(current_setting('test.unpaid')::jsonb ->> 'status', 'ignored', 'an unpaid session is ignored');
select is(current_setting('test.unpaid')::jsonb #>> '{result,ignored}',
  'payment not completed yet; checkout.session.async_payment_succeeded will follow', 'with the reason');
select results_eq(
  $$select status, error from public.stripe_events where id = 'evt_test_hse_async_unpaid'$$,
  $$values ('ignored'::text, 'payment not completed yet; checkout.session.async_payment_succeeded will follow'::text)$$,
  'the event is recorded as ignored, with the reason');
select is_empty($$select 1 from public.token_transactions where user_id = '00000000-0000-4000-8703-000000000001'$$,
  'no purchase yet');
select is(public.get_token_balance('00000000-0000-4000-8703-000000000001') ->> 'balance', '0', 'no tokens yet');

-- The payment failed for someone else's session: not handled, recorded as ignored.
select is(public.handle_stripe_event(
    jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.unpaid')::jsonb,
      '{id}', '"evt_test_hse_async_failed"'),
      '{type}', '"checkout.session.async_payment_failed"'),
      '{data,object,id}', '"cs_test_hse_async_2"'),
      '{data,object,payment_intent}', '"pi_test_hse_async_2"')) ->> 'status',
  'ignored', 'async_payment_failed is ignored');

select set_config('test.paid', public.handle_stripe_event(current_setting('hse.succeeded')::jsonb)::text, true);
select is(current_setting('test.paid')::jsonb ->> 'status', 'processed', 'async_payment_succeeded is processed');
select is((current_setting('test.paid')::jsonb -> 'result') - 'transaction_id',
  '{"user_id": "00000000-0000-4000-8703-000000000001", "transaction_type": "purchase", "token_amount": 1000,
    "balance_before": 0, "balance_after": 1000, "replayed": false}'::jsonb,
  'it makes the purchase');
select results_eq(
  $$select idempotency_key, stripe_checkout_session_id, stripe_payment_intent_id, stripe_event_id, metadata
      from public.token_transactions where user_id = '00000000-0000-4000-8703-000000000001'$$,
  $$values ('checkout:cs_test_hse_async_1'::text, 'cs_test_hse_async_1'::text, 'pi_test_hse_async_1'::text,
            'evt_test_hse_async_succeeded'::text, '{"stripe_event_type": "checkout.session.async_payment_succeeded"}'::jsonb)$$,
  'keyed by the session, naming the event that paid it');
select is(public.get_token_balance('00000000-0000-4000-8703-000000000001') ->> 'balance', '1000', 'the pack is in the balance');

-- Redeliveries of either event change nothing.
select is(public.handle_stripe_event(current_setting('hse.unpaid')::jsonb) ->> 'status', 'duplicate',
  'the unpaid completed event again is a duplicate');
select is(public.handle_stripe_event(current_setting('hse.succeeded')::jsonb) ->> 'status', 'duplicate',
  'the succeeded event again is a duplicate');
select is(
  (select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-8703-000000000001'),
  1, 'one purchase in all');

select * from finish();
rollback;
