-- Once a payment is attributed, attributing it to another user is PT409 (the session is the
-- key, and it was used for a different request) and writes nothing: a session is bought once.
begin;
select plan(4);

select tests.create_users('attr-other', '00000000-0000-4000-8724-000000000001', '00000000-0000-4000-8724-000000000002');
select tests.create_pack('attr_other_pack', 1000, 'Attribution test pack');

select public.handle_stripe_event(tests.paid_checkout('evt_test_attr_other_1', 'cs_test_attr_other_1', 'attr_other_pack',
  null, 'pi_test_attr_other_1'));
select public.attribute_payment('cs_test_attr_other_1', '00000000-0000-4000-8724-000000000001');

select throws_ok($$select public.attribute_payment('cs_test_attr_other_1', '00000000-0000-4000-8724-000000000002')$$,
  'PT409', null, 'attributing the same payment to another user is PT409');
select is(public.get_token_balance('00000000-0000-4000-8724-000000000002') ->> 'balance', '0', 'the other user got nothing');
select is((select attributed_user_id from public.unattributed_payments where stripe_checkout_session_id = 'cs_test_attr_other_1'),
  '00000000-0000-4000-8724-000000000001'::uuid, 'the payment stays with the first user');
select is((select count(*)::int from public.token_transactions where stripe_checkout_session_id = 'cs_test_attr_other_1'),
  1, 'one purchase');

select * from finish();
rollback;
