-- attribute_payment refuses with 22023, and writes nothing, when there is nothing it may grant:
-- no session or user given, a session that is not an unattributed payment, a user that does
-- not exist, a pack that is not (or no longer) sold (retry after adding it), or a payment that
-- was refunded or disputed before it was attributed (the customer has the money back).
begin;
select plan(13);

select tests.create_user('attr-bad-alice@example.test', '00000000-0000-4000-8725-000000000001');
select tests.create_pack('attr_bad_pack', 1000, 'Attribution test pack');

select set_config('hse.paid', tests.paid_checkout('evt_test_attr_bad_1', 'cs_test_attr_bad_1', 'attr_bad_pack',
  null, 'pi_test_attr_bad_1')::text, true);
select public.handle_stripe_event(current_setting('hse.paid')::jsonb);
-- One that names a pack that does not exist, and one that gets refunded before anyone looks.
select public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
  '{id}', '"evt_test_attr_bad_2"'), '{data,object,id}', '"cs_test_attr_bad_2"'),
  '{data,object,metadata,pack_id}', '"attr_bad_late_pack"'));
select public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
  '{id}', '"evt_test_attr_bad_3"'), '{data,object,id}', '"cs_test_attr_bad_3"'),
  '{data,object,payment_intent}', '"pi_test_attr_bad_3"'));
select public.handle_stripe_event(tests.charge_refunded('evt_test_attr_bad_3_refund', 'ch_test_attr_bad_3', 'pi_test_attr_bad_3', 500,
  500, p_created => 1768521600, p_object => '{"metadata": {"pack_id": "attr_bad_pack"}}'::jsonb));

select throws_ok($$select public.attribute_payment(null, '00000000-0000-4000-8725-000000000001')$$,
  '22023', null, 'no session: 22023');
select throws_ok($$select public.attribute_payment('cs_test_attr_bad_1', null)$$,
  '22023', null, 'no user: 22023');
select throws_ok($$select public.attribute_payment('cs_test_attr_bad_nope', '00000000-0000-4000-8725-000000000001')$$,
  '22023', null, 'a session that is not an unattributed payment: 22023');
select throws_ok($$select public.attribute_payment(repeat('x', 100000), '00000000-0000-4000-8725-000000000001')$$,
  '22023', null, 'a session id of 100,000 characters: 22023');
select throws_ok($$select public.attribute_payment('cs_test_attr_bad_1', '00000000-0000-4000-8725-0000000000ff')$$,
  '22023', null, 'a user that does not exist: 22023');
select throws_ok($$select public.attribute_payment('cs_test_attr_bad_2', '00000000-0000-4000-8725-000000000001')$$,
  '22023', null, 'a payment for a pack that is not sold: 22023');
select throws_ok($$select public.attribute_payment('cs_test_attr_bad_3', '00000000-0000-4000-8725-000000000001')$$,
  '22023', null, 'a payment refunded before it was attributed: 22023');
select matches(
  (select error from public.stripe_events where id = 'evt_test_attr_bad_3_refund'),
  'unattributed', 'its refund was recorded, as ignored: nothing had been granted to take back');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-8725-000000000001'), 'attributed=' ||
    (select count(*) from public.unattributed_payments u
      where u.stripe_checkout_session_id like 'cs_test_attr_bad_%' and u.attributed_user_id is not null)), 'none attributed=0', 'nothing was written');
select is(public.get_token_balance('00000000-0000-4000-8725-000000000001') ->> 'balance', '0', 'the user got nothing');

-- The operator adds the pack: the same call now goes through.
insert into public.token_packs (id, name, tokens) values ('attr_bad_late_pack', 'Added late', 10);
select is(public.attribute_payment('cs_test_attr_bad_2', '00000000-0000-4000-8725-000000000001') ->> 'token_amount',
  '10', 'once the pack exists, the payment can be attributed');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-8725-000000000001'), 'attributed=' ||
    (select count(*) from public.unattributed_payments u
      where u.stripe_checkout_session_id like 'cs_test_attr_bad_%' and u.attributed_user_id is not null)), 'balance=10 lots=1 remaining=10 transactions=1 attributed=1', 'one purchase, one payment attributed');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
