-- A paid pack checkout that names no known user (neither client_reference_id nor
-- metadata.user_id) never vanishes: the event answers status "unattributed" (HTTP 200, so
-- Stripe does not retry for days something only an operator can resolve), nothing is granted,
-- and the payment is kept in public.unattributed_payments (session, event, payload, amount,
-- when) until an operator attributes it with attribute_payment. Only money that was paid is
-- kept: an unpaid session is still "ignored".
-- (Issue 9, item 2: such a session answered 200 "ignored" and nobody would ever see it.)
begin;
select plan(16);

select tests.create_pack('hse_unattr_pack', 1000, 'Unattributed test pack');

select set_config('hse.paid', tests.paid_checkout('evt_test_hse_unattr_1', 'cs_test_hse_unattr_1', 'hse_unattr_pack',
  '00000000-0000-4000-8722-0000000000ff', 'pi_test_hse_unattr_1',
  p_object => '{"customer": "cus_test_hse_unattr_1",
  "customer_details": {"email": "lost-buyer@example.test"}}'::jsonb)::text, true);
select set_config('test.transactions_before', (select count(*) from public.token_transactions)::text, true);

select set_config('test.r1', public.handle_stripe_event(current_setting('hse.paid')::jsonb)::text, true);
select is(current_setting('test.r1')::jsonb - 'result',
  '{"event_id": "evt_test_hse_unattr_1", "type": "checkout.session.completed", "status": "unattributed"}'::jsonb,
  'a paid session naming no known user is unattributed');
select is((current_setting('test.r1')::jsonb -> 'result') - 'unattributed',
  '{"stripe_checkout_session_id": "cs_test_hse_unattr_1", "amount_cents": 500, "currency": "usd", "pack_id": "hse_unattr_pack"}'::jsonb,
  'its result names the session, the amount paid and the pack');
select matches(current_setting('test.r1')::jsonb #>> '{result,unattributed}', 'names no known user',
  'and says why');
select results_eq(
  $$select status, error from public.stripe_events where id = 'evt_test_hse_unattr_1'$$,
  $$values ('unattributed'::text, current_setting('test.r1')::jsonb #>> '{result,unattributed}')$$,
  'the event is recorded as unattributed, with the reason');
select results_eq(
  $$select stripe_event_id, payload, amount_cents, currency, pack_id, stripe_payment_intent_id, stripe_customer_id,
           customer_email, client_reference_id, metadata_user_id, received_at = now(),
           attributed_user_id, attributed_at, purchase_transaction_id
      from public.unattributed_payments where stripe_checkout_session_id = 'cs_test_hse_unattr_1'$$,
  $$values ('evt_test_hse_unattr_1'::text, current_setting('hse.paid')::jsonb, 500::bigint, 'usd'::text,
            'hse_unattr_pack'::text, 'pi_test_hse_unattr_1'::text, 'cus_test_hse_unattr_1'::text,
            'lost-buyer@example.test'::text, '00000000-0000-4000-8722-0000000000ff'::text, null::text, true,
            null::uuid, null::timestamptz, null::uuid)$$,
  'the payment is kept for operators: event, payload, amount, ids, email, what it named, when');
select is((select count(*) from public.token_transactions)::text, current_setting('test.transactions_before'),
  'nothing was granted');

-- Stripe redelivers it: a duplicate, as any event.
select is(public.handle_stripe_event(current_setting('hse.paid')::jsonb),
  jsonb_set(current_setting('test.r1')::jsonb, '{status}', '"duplicate"'),
  'its redelivery is a duplicate with the first result');

-- Another event of the same session (async_payment_succeeded) still names nobody: still one row.
select is(public.handle_stripe_event(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_unattr_1b"'), '{type}', '"checkout.session.async_payment_succeeded"')) ->> 'status',
  'unattributed', 'a second event of the same session is unattributed too');
select results_eq(
  $$select count(*)::int, min(stripe_event_id) from public.unattributed_payments where stripe_checkout_session_id = 'cs_test_hse_unattr_1'$$,
  $$values (1, 'evt_test_hse_unattr_1'::text)$$,
  'the session is kept once, under the first event');

-- No user named at all; and an unknown pack: both kept (the pack is checked on attribution).
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_unattr_2"'),
    '{data,object,id}', '"cs_test_hse_unattr_2"'),
    '{data,object,client_reference_id}', 'null'),
    '{data,object,metadata}', '{"pack_id": "hse_unattr_pack"}')) ->> 'status',
  'unattributed', 'a paid session naming no user at all is unattributed');
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_unattr_3"'),
    '{data,object,id}', '"cs_test_hse_unattr_3"'),
    '{data,object,client_reference_id}', '"someone"'),
    '{data,object,metadata}', '{"pack_id": "hse_no_such_pack", "user_id": "00000000-0000-4000-8722-0000000000fe"}')) ->> 'status',
  'unattributed', 'a paid session naming unknown users and an unknown pack is unattributed, not an error');
select results_eq(
  $$select stripe_checkout_session_id, client_reference_id, metadata_user_id, pack_id from public.unattributed_payments
     where stripe_checkout_session_id in ('cs_test_hse_unattr_2', 'cs_test_hse_unattr_3') order by 1$$,
  $$values ('cs_test_hse_unattr_2'::text, null::text, null::text, 'hse_unattr_pack'::text),
           ('cs_test_hse_unattr_3'::text, 'someone'::text, '00000000-0000-4000-8722-0000000000fe'::text, 'hse_no_such_pack'::text)$$,
  'both are kept, with what they named');

-- Not paid yet (a bank debit): nothing to keep; async_payment_succeeded will follow.
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_unattr_4"'),
    '{data,object,id}', '"cs_test_hse_unattr_4"'),
    '{data,object,payment_status}', '"unpaid"')) ->> 'status',
  'ignored', 'an unpaid session naming no known user is ignored');
select is_empty($$select 1 from public.unattributed_payments where stripe_checkout_session_id = 'cs_test_hse_unattr_4'$$,
  'and not kept');

select is((select count(*) from public.token_transactions)::text, current_setting('test.transactions_before'),
  'no event granted anything');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
