-- handle_stripe_event records events it has nothing to do with as status "ignored", with the
-- reason in result.ignored and stripe_events.error, and changes nothing else: event types it
-- does not handle, unpaid or subscription checkouts for unknown users, other checkout modes,
-- inquiries (disputes with status warning_*). Recording them makes a redelivery a duplicate like any other.
begin;
select plan(15);

select tests.create_user('hse-ignored-alice@example.test', '00000000-0000-4000-8715-000000000001');
select tests.create_pack('hse_ignored_pack', 1000, 'Ignored test pack');

-- customer_created.json
select set_config('hse.customer', tests.customer_created('evt_test_hse_ignored_customer', 'cus_test_hse_ignored',
  '{"email": "subscriber@example.test"}')::text, true);
select set_config('hse.paid', tests.paid_checkout('evt_test_hse_ignored_checkout', 'cs_test_hse_ignored_1', 'hse_ignored_pack',
  '00000000-0000-4000-8715-0000000000ff', 'pi_test_hse_ignored_1')::text, true);

select set_config('test.customer', public.handle_stripe_event(current_setting('hse.customer')::jsonb)::text, true);
select is(current_setting('test.customer')::jsonb,
  '{"event_id": "evt_test_hse_ignored_customer", "type": "customer.created", "status": "ignored",
    "result": {"ignored": "event type customer.created is not handled"}}'::jsonb,
  'an event type the ledger does not handle is ignored, with the reason');
select results_eq(
  $$select type, status, result, error, payload from public.stripe_events where id = 'evt_test_hse_ignored_customer'$$,
  $$values ('customer.created'::text, 'ignored'::text, '{"ignored": "event type customer.created is not handled"}'::jsonb,
            'event type customer.created is not handled'::text, current_setting('hse.customer')::jsonb)$$,
  'it is recorded as ignored');
select is(public.handle_stripe_event(current_setting('hse.customer')::jsonb),
  '{"event_id": "evt_test_hse_ignored_customer", "type": "customer.created", "status": "duplicate",
    "result": {"ignored": "event type customer.created is not handled"}}'::jsonb,
  'its redelivery is a duplicate with the same result');

-- Checkouts for a user that does not exist that hold no money to keep (a paid one is kept as
-- unattributed: paid_checkout_naming_no_known_user_is_kept_unattributed.test.sql): not paid
-- yet, or a subscription (its own events name the user).
select is(public.handle_stripe_event(jsonb_set(current_setting('hse.paid')::jsonb,
    '{data,object,payment_status}', '"unpaid"')) #>> '{result,ignored}',
  'payment not completed yet; checkout.session.async_payment_succeeded will follow',
  'an unpaid checkout for an unknown user is ignored');
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_ignored_checkout_2"'), '{data,object,client_reference_id}', '"not-a-uuid"'),
    '{data,object,mode}', '"subscription"')) #>> '{result,ignored}',
  'the session names no known user (client_reference_id or metadata.user_id)',
  'a subscription checkout for an unknown user is ignored');
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_ignored_checkout_3"'), '{data,object,client_reference_id}', 'null'),
    '{data,object,metadata}', '{"pack_id": "hse_ignored_pack"}'), '{data,object,mode}', '"subscription"')) ->> 'status',
  'ignored', 'a subscription checkout naming no user at all is ignored');
-- A checkout in mode setup (saving a card).
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_ignored_checkout_4"'),
    '{data,object,client_reference_id}', '"00000000-0000-4000-8715-000000000001"'),
    '{data,object,mode}', '"setup"')) #>> '{result,ignored}',
  'checkout mode setup', 'a checkout in mode setup is ignored');
select is_empty($$select 1 from public.token_transactions where stripe_checkout_session_id = 'cs_test_hse_ignored_1'$$,
  'no purchase was made');

-- A purchase, then an inquiry on its charge: no funds are withdrawn, nothing is taken back.
select public.handle_stripe_event(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
  '{id}', '"evt_test_hse_ignored_purchase"'),
  '{data,object,client_reference_id}', '"00000000-0000-4000-8715-000000000001"'));
select set_config('hse.inquiry', tests.charge_dispute('evt_test_hse_ignored_inquiry', 'created', 'du_test_hse_ignored_1',
  'ch_test_hse_ignored_1', 'pi_test_hse_ignored_1', 500, 'warning_needs_response',
  p_object => '{"reason": "general"}'::jsonb)::text, true);
select is(public.handle_stripe_event(current_setting('hse.inquiry')::jsonb) #>> '{result,ignored}',
  'an inquiry (warning) withdraws no funds', 'an inquiry is ignored');
select is((public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.inquiry')::jsonb,
    '{id}', '"evt_test_hse_ignored_inquiry_closed"'), '{type}', '"charge.dispute.closed"'),
    '{data,object,status}', '"warning_closed"')) -> 'result') - 'purchase_id',
  '{"tokens": 0, "note": "already reconciled"}'::jsonb, 'its closing gives nothing back: nothing was taken');
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.inquiry')::jsonb,
    '{id}', '"evt_test_hse_ignored_dispute_odd"'), '{type}', '"charge.dispute.closed"'),
    '{data,object,status}', '"under_review"')) #>> '{result,ignored}',
  'dispute closed with status under_review', 'a closing with an unexpected status is ignored');
select is(public.get_token_balance('00000000-0000-4000-8715-000000000001') ->> 'balance', '1000', 'the purchase is untouched');

select is(
  (select count(*)::int from public.stripe_events where id like 'evt_test_hse_ignored_%' and status = 'ignored'),
  7, 'seven events recorded as ignored');
select is(
  (select count(*)::int from public.stripe_events where id like 'evt_test_hse_ignored_%' and status = 'processed'),
  2, 'two processed (the purchase and the inquiry''s closing)');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
