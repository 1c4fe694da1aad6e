-- Only the service attributes payments and reads public.unattributed_payments (an operator's
-- tool: the rows hold other people's payments and e-mail addresses). anon, signed-in users and
-- admins get 42501 and nothing is written; nobody writes the table directly.
begin;
select plan(13);

select tests.create_user('attr-roles-alice@example.test', '00000000-0000-4000-8726-000000000001');
select tests.create_user('attr-roles-admin@example.test', '00000000-0000-4000-8726-000000000002');
select tests.create_pack('attr_roles_pack', 1000, 'Attribution test pack');
select public.handle_stripe_event(tests.paid_checkout('evt_test_attr_roles_1', 'cs_test_attr_roles_1', 'attr_roles_pack',
  null, 'pi_test_attr_roles_1'));

select ok(not has_function_privilege('anon', 'public.attribute_payment(text, uuid)', 'execute'), 'anon has no EXECUTE');
select ok(not has_function_privilege('authenticated', 'public.attribute_payment(text, uuid)', 'execute'), 'authenticated has no EXECUTE');
select ok(has_function_privilege('service_role', 'public.attribute_payment(text, uuid)', 'execute'), 'service_role has EXECUTE');
select ok(not has_table_privilege('authenticated', 'public.unattributed_payments', 'select'), 'authenticated cannot read the table');

select tests.authenticate_as_anon();
select throws_ok($$select public.attribute_payment('cs_test_attr_roles_1', '00000000-0000-4000-8726-000000000001')$$,
  '42501', null, 'anon cannot');
select tests.clear_authentication();
select tests.authenticate_as('00000000-0000-4000-8726-000000000001');
select throws_ok($$select public.attribute_payment('cs_test_attr_roles_1', '00000000-0000-4000-8726-000000000001')$$,
  '42501', null, 'a signed-in user cannot claim a payment for itself');
select throws_ok($$select * from public.unattributed_payments$$, '42501', null, 'nor read the unattributed payments');
select tests.clear_authentication();
select tests.authenticate_as_admin('00000000-0000-4000-8726-000000000002');
select throws_ok($$select public.attribute_payment('cs_test_attr_roles_1', '00000000-0000-4000-8726-000000000001')$$,
  '42501', null, 'an admin cannot either (a payment is attributed by the service)');
select tests.clear_authentication();
select is((select attributed_user_id from public.unattributed_payments where stripe_checkout_session_id = 'cs_test_attr_roles_1'),
  null, 'nothing was attributed');

select tests.authenticate_as_service_role();
select throws_ok($$update public.unattributed_payments set attributed_user_id = '00000000-0000-4000-8726-000000000001'$$,
  '42501', null, 'the service does not write the table directly');
select is((select count(*)::int from public.unattributed_payments where stripe_checkout_session_id = 'cs_test_attr_roles_1'),
  1, 'the service reads it');
select is(public.attribute_payment('cs_test_attr_roles_1', '00000000-0000-4000-8726-000000000001') ->> 'token_amount',
  '1000', 'the service attributes it');
select tests.clear_authentication();
select is(public.get_token_balance('00000000-0000-4000-8726-000000000001') ->> 'balance', '1000', 'alice has the pack');

select * from finish();
rollback;
