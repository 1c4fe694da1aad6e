-- attribute_payment(p_stripe_checkout_session_id, p_user_id) grants an unattributed payment to
-- a user through the purchase path, with the key the webhook would have used
-- ('checkout:<session id>'), so the session is still bought once: calling it again replays
-- the purchase, a redelivery of the event is a duplicate, a later event of the same session
-- replays the purchase for the attributed user, and refunds find the purchase as usual.
begin;
select plan(14);

select tests.create_user('attr-grant-alice@example.test', '00000000-0000-4000-8723-000000000001');
select tests.create_pack('attr_grant_pack', 1000, 'Attribution test pack');

select set_config('hse.paid', tests.paid_checkout('evt_test_attr_grant_1', 'cs_test_attr_grant_1', 'attr_grant_pack', null,
  'pi_test_attr_grant_1', p_amount_total => 300, p_object => '{"currency": "eur",
  "customer": "cus_test_attr_grant_1"}'::jsonb)::text, true);
select set_config('test.first', public.handle_stripe_event(current_setting('hse.paid')::jsonb)::text, true);
select is(current_setting('test.first')::jsonb ->> 'status', 'unattributed', 'the payment arrived unattributed');

select set_config('test.a1', public.attribute_payment(
  p_stripe_checkout_session_id => 'cs_test_attr_grant_1',
  p_user_id => '00000000-0000-4000-8723-000000000001')::text, true);
select is(current_setting('test.a1')::jsonb - 'transaction_id',
  '{"user_id": "00000000-0000-4000-8723-000000000001", "transaction_type": "purchase", "token_amount": 1000,
    "balance_before": 0, "balance_after": 1000, "replayed": false}'::jsonb,
  'the operator attributes it: a purchase of the pack');
select results_eq(
  $$select user_id, transaction_type, token_amount, source, pack_id, amount_cents, currency, idempotency_key,
           stripe_checkout_session_id, stripe_payment_intent_id, stripe_customer_id, stripe_event_id
      from public.token_transactions where id = (current_setting('test.a1')::jsonb ->> 'transaction_id')::uuid$$,
  $$values ('00000000-0000-4000-8723-000000000001'::uuid, 'purchase'::text, 1000::bigint, 'stripe'::text,
            'attr_grant_pack'::text, 300::bigint, 'eur'::text, 'checkout:cs_test_attr_grant_1'::text,
            'cs_test_attr_grant_1'::text, 'pi_test_attr_grant_1'::text, 'cus_test_attr_grant_1'::text,
            'evt_test_attr_grant_1'::text)$$,
  'the purchase is the one the webhook would have made: same key, amount, currency and Stripe ids');
select results_eq(
  $$select attributed_user_id, attributed_at = now(), purchase_transaction_id
      from public.unattributed_payments where stripe_checkout_session_id = 'cs_test_attr_grant_1'$$,
  $$values ('00000000-0000-4000-8723-000000000001'::uuid, true, (current_setting('test.a1')::jsonb ->> 'transaction_id')::uuid)$$,
  'the kept payment says to whom, when and which purchase');

-- The operator's retry: the same purchase, nothing new.
select is(public.attribute_payment('cs_test_attr_grant_1', '00000000-0000-4000-8723-000000000001'),
  jsonb_set(current_setting('test.a1')::jsonb, '{replayed}', 'true'),
  'attributing it again to the same user replays the purchase');

-- Stripe redelivers the original event: a duplicate, with its first result.
select is(public.handle_stripe_event(current_setting('hse.paid')::jsonb),
  jsonb_set(current_setting('test.first')::jsonb, '{status}', '"duplicate"'),
  'a redelivery of the event after attribution is a duplicate');
-- A later event of the same session (naming nobody, or someone else): the attributed purchase.
select set_config('test.later', public.handle_stripe_event(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_attr_grant_2"'), '{type}', '"checkout.session.async_payment_succeeded"'))::text, true);
select is(current_setting('test.later')::jsonb ->> 'status', 'processed', 'a later event of the session is processed');
select is(current_setting('test.later')::jsonb -> 'result',
  jsonb_set(current_setting('test.a1')::jsonb, '{replayed}', 'true'),
  'it replays the attributed purchase');

select is((select count(*)::int from public.token_transactions where stripe_checkout_session_id = 'cs_test_attr_grant_1'),
  1, 'one purchase for the session');
select is(public.get_token_balance('00000000-0000-4000-8723-000000000001') ->> 'balance', '1000', 'the user holds the pack');

-- A refund of the payment finds the purchase through its payment_intent, as for any purchase.
select set_config('test.refund', public.handle_stripe_event(tests.charge_refunded('evt_test_attr_grant_refund', 'ch_test_attr_grant_1', 'pi_test_attr_grant_1',
  300, 100, p_created => 1768521600, p_object => '{"currency": "eur"}'::jsonb))::text, true);
select is(current_setting('test.refund')::jsonb ->> 'status', 'processed', 'a refund of the attributed payment is processed');
select is((current_setting('test.refund')::jsonb #>> '{result,token_amount}')::int, -333,
  'it takes back floor(1000 x 100 / 300) tokens');
select is(public.get_token_balance('00000000-0000-4000-8723-000000000001') ->> 'balance', '667', 'the balance after the refund');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
