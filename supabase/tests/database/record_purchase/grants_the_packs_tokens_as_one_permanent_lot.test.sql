-- record_purchase, happy path: the service records a Stripe purchase; the tokens come from
-- the pack (never from the caller), the payment fields are kept on the transaction, and the
-- tokens become one permanent lot.
begin;
select plan(12);

select tests.create_user('rp-happy-alice@example.test', '00000000-0000-4000-8301-000000000001');
insert into public.token_packs (id, stripe_price_id, name, tokens) values
  ('test-8301-pack', 'price_test_8301', 'Test pack', 500),
  ('test-8301-free', 'price_test_8301_free', 'Free pack', 20);

select tests.authenticate_as_service_role();
select set_config('test.p1', public.record_purchase('00000000-0000-4000-8301-000000000001', 'test-8301-pack', 'rp-happy-1',
  999, 'USD', 'cs_test_8301', 'pi_test_8301', 'cus_test_8301', 'evt_test_8301', '{"note":"first"}')::text, true);
select set_config('test.p2', public.record_purchase('00000000-0000-4000-8301-000000000001', 'test-8301-pack', 'rp-happy-2',
  999, 'eur')::text, true);
select set_config('test.p3', public.record_purchase('00000000-0000-4000-8301-000000000001', 'test-8301-free', 'rp-happy-3',
  0, 'usd')::text, true);
select tests.clear_authentication();

select is(current_setting('test.p1')::jsonb - 'transaction_id',
  '{"user_id":"00000000-0000-4000-8301-000000000001","transaction_type":"purchase","token_amount":500,
    "balance_before":0,"balance_after":500,"replayed":false}'::jsonb,
  'the result describes the purchase: the pack''s tokens');
select is(
  (select array_agg(k order by k) from jsonb_object_keys(current_setting('test.p1')::jsonb) k),
  array['balance_after', 'balance_before', 'replayed', 'token_amount', 'transaction_id', 'transaction_type', 'user_id'],
  'the result has exactly the documented keys');
select results_eq(
  $$select transaction_type, token_amount, balance_before, balance_after, source, pack_id, amount_cents, currency,
           stripe_checkout_session_id, stripe_payment_intent_id, stripe_customer_id, stripe_event_id, metadata,
           expires_at, idempotency_key, is_legacy
      from public.token_transactions where id = (current_setting('test.p1')::jsonb ->> 'transaction_id')::uuid$$,
  $$values ('purchase'::text, 500::bigint, 0::bigint, 500::bigint, 'stripe'::text, 'test-8301-pack'::text, 999::bigint, 'usd'::text,
            'cs_test_8301'::text, 'pi_test_8301'::text, 'cus_test_8301'::text, 'evt_test_8301'::text, '{"note":"first"}'::jsonb,
            null::timestamptz, 'rp-happy-1'::text, false)$$,
  'the transaction keeps the pack, the amount, the currency in lower case and the Stripe ids');
select results_eq(
  $$select source, original, remaining, expires_at from public.token_lots
     where transaction_id = (current_setting('test.p1')::jsonb ->> 'transaction_id')::uuid$$,
  $$values ('purchase'::text, 500::bigint, 500::bigint, null::timestamptz)$$,
  'purchased tokens are one permanent lot');

select is((current_setting('test.p2')::jsonb ->> 'balance_before')::bigint, 500::bigint, 'a second purchase starts at 500');
select is((current_setting('test.p2')::jsonb ->> 'balance_after')::bigint, 1000::bigint, 'and adds the pack''s tokens again');
select results_eq(
  $$select currency, stripe_checkout_session_id, stripe_payment_intent_id, stripe_customer_id, stripe_event_id, metadata
      from public.token_transactions where idempotency_key = 'rp-happy-2'$$,
  $$values ('eur'::text, null::text, null::text, null::text, null::text, '{}'::jsonb)$$,
  'the Stripe ids are optional');
select is((current_setting('test.p3')::jsonb ->> 'token_amount')::bigint, 20::bigint, 'a purchase of zero cents (a 100% coupon) is recorded');
select is(tests.balance_and_debt('00000000-0000-4000-8301-000000000001'), 'balance=1020 debt=0',
  'the stored balance is the sum of the packs');
select is(
  (select count(*)::int from public.token_lots where user_id = '00000000-0000-4000-8301-000000000001'),
  3, 'one lot per purchase');
select is(public.get_token_balance('00000000-0000-4000-8301-000000000001') -> 'next_expiry', 'null'::jsonb,
  'purchased tokens never expire');
select is_empty(
  $$select * from public.verify_token_ledger('00000000-0000-4000-8301-000000000001')$$,
  'the ledger is consistent');

select * from finish();
rollback;
