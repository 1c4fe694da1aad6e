-- record_purchase rejects bad arguments with 22023 before it writes anything: missing or
-- unknown user, unknown or inactive pack, bad keys, a negative or missing amount, a currency
-- that is not three letters, non-object metadata.
begin;
select plan(27);

select tests.create_user('rp-bad-alice@example.test', '00000000-0000-4000-8302-000000000001');
insert into public.token_packs (id, stripe_price_id, tokens, active) values
  ('test-8302-pack', 'price_test_8302', 100, true),
  ('test-8302-retired', 'price_test_8302_retired', 100, false);

select tests.authenticate_as_service_role();
-- what every RPC refuses, then record_purchase's own rules: each row varies one argument
select is(tests.error_sqlstate(tests.call_sql('public.record_purchase',
    array['p_user_id', $$'00000000-0000-4000-8302-000000000001'$$, 'p_pack_id', $$'test-8302-pack'$$,
          'p_idempotency_key', $$'rp-bad-1'$$, 'p_amount_cents', '100', 'p_currency', $$'usd'$$],
    b.param, b.value)), '22023', b.description)
  from (select * from tests.bad_arguments('p_user_id', 'p_idempotency_key', 'p_metadata')
        union all values
          ('p_pack_id', 'null', 'a null pack is rejected'),
          ('p_pack_id', $$'no-such-pack'$$, 'an unknown pack is rejected'),
          ('p_pack_id', $$'test-8302-retired'$$, 'an inactive pack is rejected'),
          ('p_pack_id', $$'price_test_8302'$$, 'a Stripe price id is not a pack id'),
          ('p_amount_cents', 'null', 'a null amount is rejected'),
          ('p_amount_cents', '-1', 'a negative amount is rejected'),
          ('p_currency', 'null', 'a null currency is rejected'),
          ('p_currency', $$''$$, 'an empty currency is rejected'),
          ('p_currency', $$'us'$$, 'a two-letter currency is rejected'),
          ('p_currency', $$'usdt'$$, 'a four-letter currency is rejected'),
          ('p_currency', $$'u$d'$$, 'a currency with a symbol is rejected'),
          ('p_currency', $$' usd'$$, 'a currency with a space is rejected')
       ) b;
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8302-000000000001'),
  'none', 'none of the rejected calls wrote anything, not even a balance row');
select is(tests.ledger_footprint('00000000-0000-4000-8000-00000000dead'), 'none', 'no balance row for the unknown user');

-- the boundaries
select tests.authenticate_as_service_role();
select lives_ok($$select public.record_purchase('00000000-0000-4000-8302-000000000001', 'test-8302-pack', repeat('k', 255), 0, 'JPY',
  null, null, null, null, null)$$, 'a 255-character key, zero cents, an upper-case currency and null metadata are accepted');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8302-000000000001'),
  'balance=100 lots=1 remaining=100 transactions=1', 'the accepted purchase was written');

select * from finish();
rollback;
