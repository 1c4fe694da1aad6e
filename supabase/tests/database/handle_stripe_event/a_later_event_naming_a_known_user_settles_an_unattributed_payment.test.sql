-- A payment kept as unattributed is settled by a later event of the same session that names a
-- known user (the user signed up in between, and the session's async_payment_succeeded or a
-- Dashboard resend with a new id arrives): the purchase goes to that user through the usual
-- path, and the kept payment records it, so no operator attributes it a second time.
begin;
select plan(5);

select tests.create_pack('hse_later_pack', 1000, 'Later test pack');
select set_config('hse.paid', tests.paid_checkout('evt_test_hse_later_1', 'cs_test_hse_later_1', 'hse_later_pack',
  '00000000-0000-4000-8727-000000000001', 'pi_test_hse_later_1')::text, true);
select is(public.handle_stripe_event(current_setting('hse.paid')::jsonb) ->> 'status', 'unattributed',
  'the user does not exist yet: unattributed');

select tests.create_user('hse-later-alice@example.test', '00000000-0000-4000-8727-000000000001');
select set_config('test.later', public.handle_stripe_event(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
  '{id}', '"evt_test_hse_later_2"'), '{type}', '"checkout.session.async_payment_succeeded"'))::text, true);
select is(current_setting('test.later')::jsonb ->> 'status', 'processed', 'a later event of the session naming her is processed');
select is(current_setting('test.later')::jsonb #>> '{result,user_id}', '00000000-0000-4000-8727-000000000001',
  'the pack goes to her');
select results_eq(
  $$select attributed_user_id, purchase_transaction_id from public.unattributed_payments
     where stripe_checkout_session_id = 'cs_test_hse_later_1'$$,
  $$values ('00000000-0000-4000-8727-000000000001'::uuid, (current_setting('test.later')::jsonb #>> '{result,transaction_id}')::uuid)$$,
  'the kept payment records to whom and which purchase');
select is(public.attribute_payment('cs_test_hse_later_1', '00000000-0000-4000-8727-000000000001') ->> 'replayed',
  'true', 'attributing it to her afterwards only replays the purchase');

select * from finish();
rollback;
