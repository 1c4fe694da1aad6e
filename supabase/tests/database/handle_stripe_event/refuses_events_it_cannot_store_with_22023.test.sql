-- handle_stripe_event takes only what the stripe-webhook function calls a usable event, and
-- refuses the rest with 22023 before it writes anything (the function answers 400 for them
-- without asking the database; this is the same rule for a caller on the service path):
--   id        a string: evt_ and 1 to 244 letters, digits or underscores (so that the keys
--             made from it, like 'stripe:<event id>', fit the 255-character key limit);
--   object    "event";
--   type      a string of 1 to 255 characters;
--   created   a JSON number of whole seconds, 0 up to the end of the year 9999, read as a
--             double like the function reads it (a literal that rounds to a whole number is one);
--   livemode  true, false, or absent;
--   data.object  a JSON object.
-- (\u0000 and unpaired surrogates cannot reach the function: jsonb cannot hold them.)
-- (Issue 9, item 8: such events failed with other errors, 23514 or 22P02, or were recorded.)
begin;
select plan(24);

select tests.create_user('hse-store-alice@example.test', '00000000-0000-4000-8728-000000000001');
select tests.create_pack('hse_store_pack', 1000, 'Store test pack');

select set_config('hse.event', tests.customer_created('evt_test_hse_store_1', 'cus_test_hse_store')::text, true);

create function pg_temp.rejects(p_path text[], p_value jsonb, p_description text) returns text language sql as $f$
  select throws_ok(format('select public.handle_stripe_event(%L::jsonb)',
    jsonb_set(current_setting('hse.event')::jsonb, p_path, p_value)), '22023', null, p_description)
$f$;

select pg_temp.rejects('{id}', to_jsonb('evt_' || repeat('a', 245)), 'an id of 249 characters');
select pg_temp.rejects('{id}', to_jsonb('evt_' || repeat('a', 296)), 'an id of 300 characters');
select pg_temp.rejects('{id}', '["evt_test_hse_store_1"]', 'an id that is not a string');
select pg_temp.rejects('{object}', '"v2.core.event"', 'an object other than "event"');
select throws_ok(format('select public.handle_stripe_event(%L::jsonb)', current_setting('hse.event')::jsonb - 'object'),
  '22023', null, 'no object');
select pg_temp.rejects('{type}', '["customer.created"]', 'a type that is not a string');
select pg_temp.rejects('{type}', to_jsonb(repeat('a', 256)), 'a type of 256 characters');
select pg_temp.rejects('{created}', '"1767225540"', 'a created that is a string');
select pg_temp.rejects('{created}', '1767225540.5', 'a created with a fraction');
select pg_temp.rejects('{created}', 'null', 'a null created');
select pg_temp.rejects('{created}', '253402300800', 'a created after the year 9999');
select pg_temp.rejects('{created}', '1e400', 'a created of 1e400');
select pg_temp.rejects('{livemode}', '"yes"', 'a livemode that is not a boolean');
select pg_temp.rejects('{data,object}', '[]', 'a data.object that is an array');
select pg_temp.rejects('{data,object}', '[{"id": "cus_test_hse_store", "object": "customer"}]', 'a data.object that is an array of objects');
select is_empty($$select 1 from public.stripe_events where payload ->> 'id' like 'evt_test_hse_store%' or id like 'evt_aaaa%'$$,
  'nothing was recorded');

-- The edges are usable: created written as 1767225540.0 (a whole number), no livemode.
select is(public.handle_stripe_event(jsonb_set(jsonb_set(current_setting('hse.event')::jsonb, '{created}', '1767225540.0'),
    '{id}', '"evt_test_hse_store_2"') - 'livemode') ->> 'status',
  'ignored', 'a whole created written with a fraction part, and no livemode, are usable');
select is((select created from public.stripe_events where id = 'evt_test_hse_store_2'), to_timestamp(1767225540),
  'created is that second');
select is(public.handle_stripe_event(jsonb_set(jsonb_set(current_setting('hse.event')::jsonb,
    '{created}', '1767225540.0000000000000000001'), '{id}', '"evt_test_hse_store_3"')) ->> 'status',
  'ignored', 'a created that a double rounds to whole seconds is usable, as the function reads it');
select is(public.handle_stripe_event(jsonb_set(jsonb_set(current_setting('hse.event')::jsonb,
    '{created}', '1.76722554e9'), '{id}', '"evt_test_hse_store_4"')) ->> 'status',
  'ignored', 'a created written with an exponent is usable');
select results_eq(
  $$select created from public.stripe_events where id in ('evt_test_hse_store_3', 'evt_test_hse_store_4')$$,
  $$values (to_timestamp(1767225540)), (to_timestamp(1767225540))$$,
  'both are that second');
-- The longest id: a purchase, then a refund keyed 'stripe:<event id>' (255 characters).
select is(public.handle_stripe_event(jsonb_set($${
  "object": "event",
  "created": 1768435260,
  "data": {"object": {"id": "cs_test_hse_store_1", "object": "checkout.session", "amount_total": 500,
    "client_reference_id": "00000000-0000-4000-8728-000000000001",
    "currency": "usd", "metadata": {"pack_id": "hse_store_pack"}, "mode": "payment",
    "payment_intent": "pi_test_hse_store_1", "payment_status": "paid"}},
  "livemode": false,
  "type": "checkout.session.completed"
}$$::jsonb, '{id}', to_jsonb('evt_' || repeat('p', 244)))) ->> 'status', 'processed', 'a purchase event with an id of 248 characters');
select is(public.handle_stripe_event(jsonb_set($${
  "object": "event",
  "created": 1768521600,
  "data": {"object": {"id": "ch_test_hse_store_1", "object": "charge", "amount": 500, "amount_refunded": 500,
    "currency": "usd", "metadata": {}, "payment_intent": "pi_test_hse_store_1", "refunded": true}},
  "livemode": false,
  "type": "charge.refunded"
}$$::jsonb, '{id}', to_jsonb('evt_' || repeat('r', 244)))) #>> '{result,token_amount}', '-1000',
  'a refund event with an id of 248 characters takes the tokens back');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
