-- A later event of a session that has already bought its pack (checkout.session.completed,
-- then checkout.session.async_payment_succeeded; or an operator's attribute_payment again)
-- replays the purchase even when the catalog has changed since: the pack named through
-- metadata.price_id is the one the purchase recorded, not whatever token_packs says now (a
-- replay is looked up before the catalog, as in every RPC). Before, a price moved to another
-- pack made the replay PT409, and a price removed made it 22023, on every retry.
begin;
select plan(6);

select tests.create_user('hse-price-moved-alice@example.test', '00000000-0000-4000-c911-000000000001');
insert into public.token_packs (id, stripe_price_id, tokens) values ('c911-old', 'price_c911', 1000), ('c911-new', null, 5000);

create function pg_temp.session_event(p_event_id text, p_type text, p_session text) returns jsonb language sql as $f$
  select jsonb_build_object('id', p_event_id, 'object', 'event', 'type', p_type, 'created', 1768435260, 'livemode', false,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', p_session, 'object', 'checkout.session', 'mode', 'payment', 'payment_status', 'paid', 'status', 'complete',
      'amount_total', 500, 'currency', 'usd', 'client_reference_id', '00000000-0000-4000-c911-000000000001',
      'customer', null, 'payment_intent', 'pi_' || p_session, 'metadata', jsonb_build_object('price_id', 'price_c911'))))
$f$;

select tests.authenticate_as_service_role();
select set_config('test.first', public.handle_stripe_event(
  pg_temp.session_event('evt_c911_1', 'checkout.session.completed', 'cs_c911_a')) #>> '{result,transaction_id}', true);
select set_config('test.first_b', public.handle_stripe_event(
  pg_temp.session_event('evt_c911_2', 'checkout.session.completed', 'cs_c911_b')) #>> '{result,transaction_id}', true);
select tests.clear_authentication();

-- the price now sells another pack; the old pack no longer has it
update public.token_packs set stripe_price_id = null where id = 'c911-old';
update public.token_packs set stripe_price_id = 'price_c911' where id = 'c911-new';

select tests.authenticate_as_service_role();
select set_config('test.again', public.handle_stripe_event(
  pg_temp.session_event('evt_c911_3', 'checkout.session.async_payment_succeeded', 'cs_c911_a'))::text, true);
select tests.clear_authentication();
select is(current_setting('test.again')::jsonb ->> 'status', 'processed', 'the later event is processed');
select is(current_setting('test.again')::jsonb #>> '{result,replayed}', 'true', 'as a replay of the purchase');
select is(current_setting('test.again')::jsonb #>> '{result,transaction_id}', current_setting('test.first'),
  'of the first purchase');

-- the price is gone from the catalog altogether
update public.token_packs set stripe_price_id = null where id = 'c911-new';
select tests.authenticate_as_service_role();
select is(public.handle_stripe_event(
  pg_temp.session_event('evt_c911_4', 'checkout.session.async_payment_succeeded', 'cs_c911_b')) #>> '{result,transaction_id}',
  current_setting('test.first_b'), 'a later event replays even when no pack has the price any more');
select tests.clear_authentication();

select is(tests.ledger_footprint('00000000-0000-4000-c911-000000000001'), 'balance=2000 lots=2 remaining=2000 transactions=2',
  'two purchases of the old pack, nothing more');
-- a new session with the removed price still names no pack
select tests.authenticate_as_service_role();
select throws_ok($$select public.handle_stripe_event(pg_temp.session_event('evt_c911_5', 'checkout.session.completed', 'cs_c911_c'))$$,
  '22023', null, 'while a new session with a price no pack has is refused');
select tests.clear_authentication();

select * from finish();
rollback;
