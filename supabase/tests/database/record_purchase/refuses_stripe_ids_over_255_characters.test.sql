-- record_purchase refuses a Stripe id (checkout session, payment intent, customer, event)
-- longer than 255 characters with 22023 and writes nothing; Stripe's ids are far shorter.
-- (Before, a 1 MB id failed with 54000 from the index, and a 256-character one was stored.)
begin;
select plan(8);

select tests.create_user('rp-long-ids-alice@example.test', '00000000-0000-4000-c907-000000000001');
insert into public.token_packs (id, tokens) values ('c907-pack', 100);

-- record_purchase with one of the four Stripe ids set to p_id (the others null)
create function pg_temp.purchase(p_arg text, p_id text, p_key text) returns jsonb language plpgsql as $f$
begin
  return public.record_purchase('00000000-0000-4000-c907-000000000001', 'c907-pack', p_key, 500, 'usd',
    p_stripe_checkout_session_id => case when p_arg = 'checkout_session' then p_id end,
    p_stripe_payment_intent_id => case when p_arg = 'payment_intent' then p_id end,
    p_stripe_customer_id => case when p_arg = 'customer' then p_id end,
    p_stripe_event_id => case when p_arg = 'event' then p_id end);
end;
$f$;

select tests.authenticate_as_service_role();
select throws_ok(format($$select pg_temp.purchase(%L, repeat('x', 256), 'c907-256-' || %L)$$, a, a), '22023',
  format('p_stripe_%s_id must be at most 255 characters.', a), 'a 256-character ' || a || ' id is refused')
  from unnest(array['checkout_session', 'payment_intent', 'customer', 'event']) a;
select throws_ok(format($$select pg_temp.purchase(%L, repeat('x', 1048576), 'c907-1mb-' || %L)$$, a, a), '22023', null,
  'a 1 MB ' || a || ' id is refused with 22023')
  from unnest(array['checkout_session', 'payment_intent']) a;
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-c907-000000000001'), 'none', 'nothing was written');

select tests.authenticate_as_service_role();
select is(pg_temp.purchase('payment_intent', repeat('x', 255), 'c907-255') ->> 'token_amount', '100',
  '255 characters are accepted');
select tests.clear_authentication();

select * from finish();
rollback;
