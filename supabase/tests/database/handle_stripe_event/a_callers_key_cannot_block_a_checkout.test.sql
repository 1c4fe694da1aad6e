-- A caller cannot take the key a Stripe purchase will use: grant_tokens with the key
-- 'checkout:<session id>' is 22023 (a reserved prefix), so the session's later
-- checkout.session.completed still records its purchase (before, it failed with PT409 on every
-- retry and the customer never got the tokens).
begin;
select plan(4);

select tests.create_user('hse-key-block-alice@example.test', '00000000-0000-4000-c910-000000000001');
insert into public.token_packs (id, tokens) values ('c910-pack', 1000);

select tests.authenticate_as_service_role();
select throws_ok(
  $$select public.grant_tokens('00000000-0000-4000-c910-000000000001', 1, 'admin_grant', 'checkout:cs_test_c910')$$,
  '22023', null, 'a grant cannot take the key of a checkout session');
select throws_ok(
  $$select public.record_purchase('00000000-0000-4000-c910-000000000001', 'c910-pack', 'checkout:cs_test_c910', 1, 'usd')$$,
  '22023', null, 'nor can a direct record_purchase');

select set_config('test.r', public.handle_stripe_event(tests.paid_checkout('evt_test_c910', 'cs_test_c910', 'c910-pack',
  '00000000-0000-4000-c910-000000000001', 'pi_test_c910'))::text, true);
select tests.clear_authentication();

select is(current_setting('test.r')::jsonb ->> 'status', 'processed', 'the checkout is processed');
select results_eq(
  $$select transaction_type, token_amount, idempotency_key from public.token_transactions
     where user_id = '00000000-0000-4000-c910-000000000001'$$,
  $$values ('purchase', 1000::bigint, 'checkout:cs_test_c910')$$,
  'and the purchase is recorded under the session''s key');

select * from finish();
rollback;
