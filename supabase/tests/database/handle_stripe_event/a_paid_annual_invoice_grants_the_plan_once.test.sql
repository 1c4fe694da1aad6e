-- handle_stripe_event, invoice.paid for a subscription on an annual plan (annual_grant_tokens):
-- each paid invoice grants the plan's tokens once, as a `subscription_grant` keyed
-- 'invoice:<invoice id>'; an invoice that took no money (amount_paid 0: a trial, a 100% coupon)
-- grants nothing. The plan drips nothing.
begin;
select plan(15);

select tests.create_user('hse-annual-alice@example.test', '00000000-0000-4000-8707-000000000001');
insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens, annual_grant_tokens) values
  ('hse_annual_plan', 'price_hse_annual', 'Annual test plan', 0, 12000);

select set_config('hse.created', $${
  "id": "evt_test_hse_annual_created",
  "object": "event",
  "api_version": "2025-03-31.basil",
  "created": 1767225605,
  "data": {
    "object": {
      "id": "sub_test_hse_annual_1",
      "object": "subscription",
      "cancel_at_period_end": false,
      "canceled_at": null,
      "created": 1767225600,
      "customer": "cus_test_hse_annual_1",
      "items": {"object": "list", "data": [{
        "id": "si_test_hse_annual_1",
        "object": "subscription_item",
        "current_period_end": 1798761600,
        "current_period_start": 1767225600,
        "price": {"id": "price_hse_annual", "object": "price", "recurring": {"interval": "year", "interval_count": 1}},
        "quantity": 1
      }]},
      "metadata": {"user_id": "00000000-0000-4000-8707-000000000001"},
      "start_date": 1767225600,
      "status": "active"
    }
  },
  "livemode": false,
  "type": "customer.subscription.created"
}$$, true);
select set_config('hse.invoice', $${
  "id": "evt_test_hse_annual_invoice_1",
  "object": "event",
  "api_version": "2025-03-31.basil",
  "created": 1767225610,
  "data": {
    "object": {
      "id": "in_test_hse_annual_1",
      "object": "invoice",
      "amount_due": 19900,
      "amount_paid": 19900,
      "amount_remaining": 0,
      "billing_reason": "subscription_create",
      "currency": "usd",
      "customer": "cus_test_hse_annual_1",
      "lines": {"object": "list", "data": [{
        "id": "il_test_hse_annual_1",
        "object": "line_item",
        "amount": 19900,
        "period": {"end": 1798761600, "start": 1767225600},
        "pricing": {"price_details": {"price": "price_hse_annual"}, "type": "price_details"}
      }]},
      "parent": {
        "type": "subscription_details",
        "subscription_details": {
          "metadata": {"user_id": "00000000-0000-4000-8707-000000000001"},
          "subscription": "sub_test_hse_annual_1"
        }
      },
      "status": "paid"
    }
  },
  "livemode": false,
  "type": "invoice.paid"
}$$, true);

select is(public.handle_stripe_event(current_setting('hse.created')::jsonb) ->> 'status', 'processed', 'the subscription is recorded');

select set_config('test.paid', public.handle_stripe_event(current_setting('hse.invoice')::jsonb)::text, true);
select is(current_setting('test.paid')::jsonb ->> 'status', 'processed', 'invoice.paid is processed');
select is((current_setting('test.paid')::jsonb #> '{result,grant}') - 'transaction_id',
  '{"user_id": "00000000-0000-4000-8707-000000000001", "transaction_type": "subscription_grant", "token_amount": 12000,
    "balance_before": 0, "balance_after": 12000, "replayed": false}'::jsonb,
  'it grants the plan''s annual tokens');
select ok(not (current_setting('test.paid')::jsonb -> 'result' ? 'drip'), 'an annual plan does not drip');
select results_eq(
  $$select transaction_type, token_amount, source, idempotency_key, expires_at, metadata
      from public.token_transactions where user_id = '00000000-0000-4000-8707-000000000001'$$,
  $$values ('subscription_grant'::text, 12000::bigint, 'stripe'::text, 'invoice:in_test_hse_annual_1'::text, null::timestamptz,
            '{"stripe_invoice_id": "in_test_hse_annual_1", "stripe_subscription_id": "sub_test_hse_annual_1",
              "plan_id": "hse_annual_plan"}'::jsonb)$$,
  'one subscription_grant keyed by the invoice, naming invoice, subscription and plan');
select is_empty($$select 1 from public.token_drips where user_id = '00000000-0000-4000-8707-000000000001'$$,
  'no token_drips rows');

-- The same invoice in another event (e.g. sent again as a new event): no second grant.
select set_config('test.again', public.handle_stripe_event(
  jsonb_set(current_setting('hse.invoice')::jsonb, '{id}', '"evt_test_hse_annual_invoice_1b"'))::text, true);
select is(current_setting('test.again')::jsonb #>> '{result,grant,replayed}', 'true', 'the same invoice again replays its grant');
select is(current_setting('test.again')::jsonb #>> '{result,grant,transaction_id}',
  current_setting('test.paid')::jsonb #>> '{result,grant,transaction_id}', 'the same grant');
select is(public.get_token_balance('00000000-0000-4000-8707-000000000001') ->> 'balance', '12000', 'granted once');

-- A trial invoice (amount_paid 0): nothing granted.
select set_config('test.free', public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.invoice')::jsonb,
  '{id}', '"evt_test_hse_annual_invoice_free"'),
  '{data,object,id}', '"in_test_hse_annual_free"'),
  '{data,object,amount_paid}', '0'))::text, true);
select is(current_setting('test.free')::jsonb ->> 'status', 'processed', 'an invoice that took no money is processed');
select ok(not (current_setting('test.free')::jsonb -> 'result' ? 'grant'), 'but grants nothing');
select is(public.get_token_balance('00000000-0000-4000-8707-000000000001') ->> 'balance', '12000', 'the balance is unchanged');

-- The next year's invoice, in the pre-2025-03-31 shape (subscription at the top level): a new grant.
select set_config('test.next', public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(
  current_setting('hse.invoice')::jsonb #- '{data,object,parent}',
  '{id}', '"evt_test_hse_annual_invoice_2"'),
  '{created}', '1798761610'),
  '{data,object,id}', '"in_test_hse_annual_2"'),
  '{data,object,billing_reason}', '"subscription_cycle"'),
  '{data,object,subscription}', '"sub_test_hse_annual_1"'))::text, true);
select is(current_setting('test.next')::jsonb #>> '{result,grant,token_amount}', '12000', 'the next year''s invoice grants again');
select is(public.get_token_balance('00000000-0000-4000-8707-000000000001') ->> 'balance', '24000', 'two years'' grants');

select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
