-- Only the service records purchases (the Stripe webhook). anon and authenticated have no
-- EXECUTE; an admin is a signed-in user and is refused too.
begin;
select plan(11);

select tests.create_user('rp-roles-alice@example.test', '00000000-0000-4000-8303-000000000001');
select tests.create_user('rp-roles-admin@example.test', '00000000-0000-4000-8303-000000000003');
insert into public.token_packs (id, stripe_price_id, tokens) values ('test-8303-pack', 'price_test_8303', 100);

select ok(not has_function_privilege('anon', 'public.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb)', 'execute'),
  'anon has no EXECUTE on record_purchase');
select ok(not has_function_privilege('authenticated', 'public.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb)', 'execute'),
  'authenticated has no EXECUTE on record_purchase');

select tests.authenticate_as_anon();
select throws_ok($$select public.record_purchase('00000000-0000-4000-8303-000000000001', 'test-8303-pack', 'rp-roles-1', 100, 'usd')$$,
  '42501', null, 'anon cannot record a purchase');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-8303-000000000001');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8303-000000000001', 'test-8303-pack', 'rp-roles-1', 100, 'usd')$$,
  '42501', null, 'a user cannot record its own purchase');
select tests.clear_authentication();

select tests.authenticate_with_claims('{"sub": "00000000-0000-4000-8303-000000000001", "role": "authenticated", "user_metadata": {"role": "admin"}}');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8303-000000000001', 'test-8303-pack', 'rp-roles-1', 100, 'usd')$$,
  '42501', null, 'user_metadata.role = admin cannot record a purchase');
select tests.clear_authentication();

select tests.authenticate_as_admin('00000000-0000-4000-8303-000000000003');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8303-000000000001', 'test-8303-pack', 'rp-roles-1', 100, 'usd')$$,
  '42501', null, 'an admin cannot record a purchase for a user');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8303-000000000003', 'test-8303-pack', 'rp-roles-2', 100, 'usd')$$,
  '42501', null, 'an admin cannot record a purchase for itself');
select tests.clear_authentication();

select is(tests.ledger_footprint('00000000-0000-4000-8303-000000000001'),
  'none', 'nothing was written for alice');
select is(tests.ledger_footprint('00000000-0000-4000-8303-000000000003'),
  'none', 'nothing was written for the admin');

select tests.authenticate_as_service_role();
select is((public.record_purchase('00000000-0000-4000-8303-000000000001', 'test-8303-pack', 'rp-roles-1', 100, 'usd') ->> 'balance_after')::bigint,
  100::bigint, 'the service records a purchase');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8303-000000000001'),
  'balance=100 lots=1 remaining=100 transactions=1', 'the service''s purchase was written');

select * from finish();
rollback;
