-- handle_stripe_event, checkout.session.completed in mode payment and paid: one `purchase` of
-- the pack named in metadata (pack_id, or price_id through token_packs.stripe_price_id) for the
-- user in client_reference_id (or metadata.user_id), keyed 'checkout:<session id>'. The event
-- is recorded in stripe_events with what it did, in the same transaction.
begin;
select plan(20);

select tests.create_users('hse-purchase',
  '00000000-0000-4000-8701-000000000001', '00000000-0000-4000-8701-000000000002', '00000000-0000-4000-8701-000000000003');
select tests.create_pack('hse_purchase_pack', 1000, 'Purchase test pack');

-- checkout_session_completed_payment.json, trimmed: the pack in metadata.pack_id, the user in
-- client_reference_id.
select set_config('hse.paid', (tests.paid_checkout('evt_test_hse_purchase_1', 'cs_test_hse_purchase_1', 'hse_purchase_pack',
  '00000000-0000-4000-8701-000000000001', 'pi_test_hse_purchase_1',
  p_object => '{"amount_subtotal": 500, "created": 1768435200, "invoice": null, "livemode": false,
  "payment_method_types": ["card"], "subscription": null}'::jsonb) || '{"pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null}}'::jsonb)::text, true);

select set_config('test.r1', public.handle_stripe_event(current_setting('hse.paid')::jsonb)::text, true);

select is(current_setting('test.r1')::jsonb - 'result',
  '{"event_id": "evt_test_hse_purchase_1", "type": "checkout.session.completed", "status": "processed"}'::jsonb,
  'the answer names the event and says processed');
select is((current_setting('test.r1')::jsonb -> 'result') - 'transaction_id',
  '{"user_id": "00000000-0000-4000-8701-000000000001", "transaction_type": "purchase", "token_amount": 1000,
    "balance_before": 0, "balance_after": 1000, "replayed": false}'::jsonb,
  'its result is the purchase: the pack''s tokens, not a replay');
select results_eq(
  $$select user_id, transaction_type, token_amount, source, pack_id, amount_cents, currency, idempotency_key,
           stripe_checkout_session_id, stripe_payment_intent_id, stripe_customer_id, stripe_event_id, metadata
      from public.token_transactions where id = (current_setting('test.r1')::jsonb #>> '{result,transaction_id}')::uuid$$,
  $$values ('00000000-0000-4000-8701-000000000001'::uuid, 'purchase'::text, 1000::bigint, 'stripe'::text,
            'hse_purchase_pack'::text, 500::bigint, 'usd'::text, 'checkout:cs_test_hse_purchase_1'::text,
            'cs_test_hse_purchase_1'::text, 'pi_test_hse_purchase_1'::text, null::text, 'evt_test_hse_purchase_1'::text,
            '{"stripe_event_type": "checkout.session.completed"}'::jsonb)$$,
  'the purchase row carries the pack, the amount paid, the Stripe ids and the key checkout:<session>');
select results_eq(
  $$select type, created, livemode, status, result, error, payload
      from public.stripe_events where id = 'evt_test_hse_purchase_1'$$,
  $$values ('checkout.session.completed'::text, to_timestamp(1768435260), false, 'processed'::text,
            current_setting('test.r1')::jsonb -> 'result', null::text, current_setting('hse.paid')::jsonb)$$,
  'the event is recorded with its payload and what it did');
select is(public.get_token_balance('00000000-0000-4000-8701-000000000001') ->> 'balance', '1000',
  'the buyer''s balance holds the pack');
select results_eq(
  $$select source, original, remaining, expires_at from public.token_lots
     where user_id = '00000000-0000-4000-8701-000000000001'$$,
  $$values ('purchase'::text, 1000::bigint, 1000::bigint, null::timestamptz)$$,
  'a purchase is one permanent lot');

-- The pack through metadata.price_id, the user through metadata.user_id (no client_reference_id).
select set_config('test.r2', public.handle_stripe_event(
  jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_purchase_2"'),
    '{data,object,id}', '"cs_test_hse_purchase_2"'),
    '{data,object,payment_intent}', '"pi_test_hse_purchase_2"'),
    '{data,object,client_reference_id}', 'null'),
    '{data,object,metadata}', '{"price_id": "price_hse_purchase_pack", "user_id": "00000000-0000-4000-8701-000000000002"}')
)::text, true);
select is(current_setting('test.r2')::jsonb ->> 'status', 'processed', 'a session naming the price instead of the pack is processed');
select results_eq(
  $$select user_id, pack_id, token_amount, idempotency_key from public.token_transactions
     where stripe_event_id = 'evt_test_hse_purchase_2'$$,
  $$values ('00000000-0000-4000-8701-000000000002'::uuid, 'hse_purchase_pack'::text, 1000::bigint,
            'checkout:cs_test_hse_purchase_2'::text)$$,
  'metadata.price_id finds the pack, metadata.user_id the user');

-- A free checkout (100% coupon): payment_status no_payment_required, amount 0, no payment intent.
select set_config('test.r3', public.handle_stripe_event(
  jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_purchase_3"'),
    '{data,object,id}', '"cs_test_hse_purchase_3"'),
    '{data,object,payment_intent}', 'null'),
    '{data,object,client_reference_id}', '"00000000-0000-4000-8701-000000000003"'),
    '{data,object,amount_total}', '0'),
    '{data,object,payment_status}', '"no_payment_required"')
)::text, true);
select is(current_setting('test.r3')::jsonb ->> 'status', 'processed', 'a no_payment_required session is processed');
select results_eq(
  $$select user_id, token_amount, amount_cents, stripe_payment_intent_id from public.token_transactions
     where stripe_event_id = 'evt_test_hse_purchase_3'$$,
  $$values ('00000000-0000-4000-8701-000000000003'::uuid, 1000::bigint, 0::bigint, null::text)$$,
  'it grants the pack for 0 cents');

-- An upper-case currency is stored lower-case (record_purchase's rule).
select set_config('test.r4', public.handle_stripe_event(
  jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_purchase_4"'),
    '{data,object,id}', '"cs_test_hse_purchase_4"'),
    '{data,object,payment_intent}', '"pi_test_hse_purchase_4"'),
    '{data,object,currency}', '"EUR"')
)::text, true);
select is((select currency from public.token_transactions where stripe_event_id = 'evt_test_hse_purchase_4'), 'eur',
  'the currency is stored lower-case');
select is(public.get_token_balance('00000000-0000-4000-8701-000000000001') ->> 'balance', '2000',
  'a second session of the same user is a second purchase');

-- An unknown pack is an error (22023, the webhook answers 500 and Stripe retries): nothing is
-- recorded, not even the event, so a retry after the pack is added is a first delivery.
select throws_ok(
  format('select public.handle_stripe_event(%L::jsonb)',
    jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
      '{id}', '"evt_test_hse_purchase_5"'),
      '{data,object,id}', '"cs_test_hse_purchase_5"'),
      '{data,object,metadata,pack_id}', '"hse_no_such_pack"')),
  '22023', null, 'a session naming an unknown pack is 22023');
select throws_ok(
  format('select public.handle_stripe_event(%L::jsonb)',
    jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
      '{id}', '"evt_test_hse_purchase_6"'),
      '{data,object,id}', '"cs_test_hse_purchase_6"'),
      '{data,object,metadata}', '{}')),
  '22023', null, 'a paid session naming no pack at all is 22023');
select is_empty(
  $$select 1 from public.stripe_events where id in ('evt_test_hse_purchase_5', 'evt_test_hse_purchase_6')$$,
  'a rejected event is not recorded');
select is_empty(
  $$select 1 from public.token_transactions where stripe_checkout_session_id in ('cs_test_hse_purchase_5', 'cs_test_hse_purchase_6')$$,
  'a rejected event grants nothing');
insert into public.token_packs (id, name, tokens) values ('hse_no_such_pack', 'Added late', 10);
select is(public.handle_stripe_event(
    jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
      '{id}', '"evt_test_hse_purchase_5"'),
      '{data,object,id}', '"cs_test_hse_purchase_5"'),
      '{data,object,metadata,pack_id}', '"hse_no_such_pack"')) ->> 'status',
  'processed', 'once the pack exists, the retried event is processed as a first delivery');

select is(
  (select count(*)::int from public.token_transactions where user_id in
    ('00000000-0000-4000-8701-000000000001', '00000000-0000-4000-8701-000000000002', '00000000-0000-4000-8701-000000000003')),
  5, 'five purchases in all');
select is(
  (select count(*)::int from public.stripe_events where id like 'evt_test_hse_purchase_%'),
  5, 'five events recorded');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
