-- handle_stripe_event, a second delivery of one event (stripe_events.id is the event id):
-- {"status": "duplicate"} with the first delivery's result, and nothing else changes. Two
-- different events for one Checkout Session (completed, then async_payment_succeeded, or a
-- resend) still make one purchase: the purchase key is 'checkout:<session id>'.
begin;
select plan(14);

select tests.create_user('hse-dup-alice@example.test', '00000000-0000-4000-8702-000000000001');
select tests.create_pack('hse_dup_pack', 1000, 'Duplicate test pack');

select set_config('hse.paid', (tests.paid_checkout('evt_test_hse_dup_1', 'cs_test_hse_dup_1', 'hse_dup_pack',
  '00000000-0000-4000-8702-000000000001', 'pi_test_hse_dup_1') || '{"pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null}}'::jsonb)::text, true);

select set_config('test.first', public.handle_stripe_event(current_setting('hse.paid')::jsonb)::text, true);
select set_config('test.row', (select to_jsonb(e)::text from public.stripe_events e where e.id = 'evt_test_hse_dup_1'), true);
select is(current_setting('test.first')::jsonb ->> 'status', 'processed', 'the first delivery is processed');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-8702-000000000001'), 'events=' || (select count(*) from public.stripe_events e where e.id like 'evt_test_hse_dup_%')), 'balance=1000 lots=1 remaining=1000 transactions=1 events=1', 'one event, one purchase');

-- Stripe delivers again (a retry after a timeout, or a resend from the dashboard).
select set_config('test.again', public.handle_stripe_event(current_setting('hse.paid')::jsonb)::text, true);
select is(current_setting('test.again')::jsonb ->> 'status', 'duplicate', 'the second delivery is a duplicate');
select is(current_setting('test.again')::jsonb ->> 'event_id', 'evt_test_hse_dup_1', 'it names the event');
select is(current_setting('test.again')::jsonb ->> 'type', 'checkout.session.completed', 'and its type');
select is(current_setting('test.again')::jsonb -> 'result', current_setting('test.first')::jsonb -> 'result',
  'it answers with the first delivery''s result');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-8702-000000000001'), 'events=' || (select count(*) from public.stripe_events e where e.id like 'evt_test_hse_dup_%')), 'balance=1000 lots=1 remaining=1000 transactions=1 events=1', 'nothing changed');
select is((select to_jsonb(e) from public.stripe_events e where e.id = 'evt_test_hse_dup_1'),
  current_setting('test.row')::jsonb, 'the recorded event is left as it was');

-- A duplicate is decided by the id alone: a redelivery whose body differs changes nothing either.
select is(public.handle_stripe_event(
    jsonb_set(current_setting('hse.paid')::jsonb, '{data,object,metadata,pack_id}', '"pack_other"')) ->> 'status',
  'duplicate', 'a redelivery is a duplicate whatever its body says');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-8702-000000000001'), 'events=' || (select count(*) from public.stripe_events e where e.id like 'evt_test_hse_dup_%')), 'balance=1000 lots=1 remaining=1000 transactions=1 events=1', 'still one purchase');

-- Another event about the same session (an async_payment_succeeded after a paid completed, or
-- the same session in a second event): recorded, but the purchase is not made twice.
select set_config('test.other', public.handle_stripe_event(
  jsonb_set(jsonb_set(current_setting('hse.paid')::jsonb,
    '{id}', '"evt_test_hse_dup_2"'),
    '{type}', '"checkout.session.async_payment_succeeded"'))::text, true);
select is(current_setting('test.other')::jsonb ->> 'status', 'processed', 'a second event for the session is processed');
select is(current_setting('test.other')::jsonb #>> '{result,replayed}', 'true',
  'its result is the session''s purchase, replayed');
select is(current_setting('test.other')::jsonb #>> '{result,transaction_id}',
  current_setting('test.first')::jsonb #>> '{result,transaction_id}', 'the same purchase');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-8702-000000000001'), 'events=' || (select count(*) from public.stripe_events e where e.id like 'evt_test_hse_dup_%')), 'balance=1000 lots=1 remaining=1000 transactions=1 events=2', 'two events, one purchase');

select * from finish();
rollback;
