-- A paid checkout goes to client_reference_id when that is a known user, and otherwise to
-- metadata.user_id when that is one: a client_reference_id shaped like a uuid that is not a
-- user (an app's own reference, a deleted user) must not make the payment vanish as "ignored".
-- (Issue 9, item 2: such a session answered 200 ignored and the customer got nothing.)
begin;
select plan(8);

select tests.create_users('hse-fallback', '00000000-0000-4000-8721-000000000001', '00000000-0000-4000-8721-000000000002');
select tests.create_pack('hse_fallback_pack', 1000, 'Fallback test pack');

select set_config('hse.paid', tests.paid_checkout('evt_test_hse_fallback_1', 'cs_test_hse_fallback_1', 'hse_fallback_pack',
  '00000000-0000-4000-8721-0000000000ff', 'pi_test_hse_fallback_1',
  p_object => '{"metadata": {"pack_id": "hse_fallback_pack",
  "user_id": "00000000-0000-4000-8721-000000000001"}}'::jsonb)::text, true);

-- client_reference_id: a uuid, but no such user. metadata.user_id: alice.
select set_config('test.r1', public.handle_stripe_event(current_setting('hse.paid')::jsonb)::text, true);
select is(current_setting('test.r1')::jsonb ->> 'status', 'processed', 'a uuid client_reference_id that is not a user: processed');
select results_eq(
  $$select user_id, token_amount, idempotency_key from public.token_transactions
     where stripe_checkout_session_id = 'cs_test_hse_fallback_1'$$,
  $$values ('00000000-0000-4000-8721-000000000001'::uuid, 1000::bigint, 'checkout:cs_test_hse_fallback_1'::text)$$,
  'the pack goes to metadata.user_id');

-- client_reference_id: not a uuid at all (the app's order number).
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_fallback_2"'),
    '{data,object,id}', '"cs_test_hse_fallback_2"'),
    '{data,object,payment_intent}', '"pi_test_hse_fallback_2"'),
    '{data,object,client_reference_id}', '"order-1234"')) ->> 'status',
  'processed', 'a client_reference_id that is not a uuid: processed');
select is((select user_id from public.token_transactions where stripe_checkout_session_id = 'cs_test_hse_fallback_2'),
  '00000000-0000-4000-8721-000000000001'::uuid, 'it goes to metadata.user_id too');

-- Both name known users: client_reference_id wins (it is the documented place).
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_fallback_3"'),
    '{data,object,id}', '"cs_test_hse_fallback_3"'),
    '{data,object,payment_intent}', '"pi_test_hse_fallback_3"'),
    '{data,object,client_reference_id}', '"00000000-0000-4000-8721-000000000002"')) ->> 'status',
  'processed', 'both name users: processed');
select is((select user_id from public.token_transactions where stripe_checkout_session_id = 'cs_test_hse_fallback_3'),
  '00000000-0000-4000-8721-000000000002'::uuid, 'client_reference_id wins when it is a known user');

select is(public.get_token_balance('00000000-0000-4000-8721-000000000001') ->> 'balance', '2000',
  'alice holds the two packs that named her in metadata');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
