-- handle_stripe_event: a subscription event naming no known user (a metadata.user_id of nobody:
-- a deleted account, an id from another environment) is answered with status unattributed
-- (HTTP 200) and kept in stripe_events, like a paid checkout naming no known user: only an
-- operator can say whose it is, so Stripe's retries could not help. Its invoice.paid gets the
-- same final answer (unattributed, no tokens) instead of 55000, which Stripe would retry for
-- days. An invoice of a subscription the ledger has heard nothing of is still 55000 (its event
-- may be on the way). Once metadata.user_id names a user (set in Stripe, which sends
-- customer.subscription.updated), the subscription is recorded as usual and its invoices drip.
begin;
select plan(9);

select tests.create_user('hse-unattributed-sub@example.test', '00000000-0000-4000-8716-000000000001');
insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens) values
  ('hse_unattributed_plan', 'price_hse_unattributed_plan', 'Unattributed subscription test plan', 1000);

-- a subscription started a minute ago (the test's now), naming p_user as metadata.user_id
create function pg_temp.subscription_event(p_id text, p_type text, p_user text, p_created bigint) returns jsonb
language sql as $f$
  select tests.stripe_event(p_id, p_type, jsonb_build_object(
    'id', 'sub_test_hse_unattributed_1', 'object', 'subscription', 'cancel_at_period_end', false,
    'customer', 'cus_test_hse_unattributed_1', 'metadata', jsonb_build_object('user_id', p_user),
    'items', jsonb_build_object('object', 'list', 'data', jsonb_build_array(jsonb_build_object(
      'id', 'si_test_hse_unattributed_1', 'object', 'subscription_item',
      'price', jsonb_build_object('id', 'price_hse_unattributed_plan', 'object', 'price')))),
    'start_date', extract(epoch from now())::bigint - 60, 'status', 'active'), p_created)
$f$;
create function pg_temp.invoice_paid(p_id text, p_invoice text, p_subscription text) returns jsonb
language sql as $f$
  select tests.stripe_event(p_id, 'invoice.paid', jsonb_build_object(
    'id', p_invoice, 'object', 'invoice', 'amount_paid', 1999, 'status', 'paid',
    'customer', 'cus_test_hse_unattributed_1', 'billing_reason', 'subscription_create',
    'parent', jsonb_build_object('type', 'subscription_details', 'subscription_details',
      jsonb_build_object('metadata', '{}'::jsonb, 'subscription', p_subscription))),
    extract(epoch from now())::bigint)
$f$;

select set_config('test.sub', public.handle_stripe_event(pg_temp.subscription_event('evt_test_hse_unattributed_sub',
  'customer.subscription.created', '00000000-0000-4000-8716-0000000000ff', 1767225600))::text, true);
select is(current_setting('test.sub')::jsonb - 'event_id' - 'type',
  '{"status": "unattributed", "result": {"unattributed": "subscription sub_test_hse_unattributed_1 names no known user (00000000-0000-4000-8716-0000000000ff): kept until a subscription event names one"}}',
  'a subscription naming no known user is unattributed, with the reason');
select results_eq($$select status, error from public.stripe_events where id = 'evt_test_hse_unattributed_sub'$$,
  $$values ('unattributed'::text, 'subscription sub_test_hse_unattributed_1 names no known user (00000000-0000-4000-8716-0000000000ff): kept until a subscription event names one'::text)$$,
  'and kept in stripe_events for an operator');
select is_empty($$select 1 from public.customer_subscriptions where stripe_subscription_id = 'sub_test_hse_unattributed_1'$$,
  'no subscription is recorded');

select set_config('test.invoice', public.handle_stripe_event(
  pg_temp.invoice_paid('evt_test_hse_unattributed_inv_1', 'in_test_hse_unattributed_1', 'sub_test_hse_unattributed_1'))::text, true);
select is(current_setting('test.invoice')::jsonb - 'event_id' - 'type',
  '{"status": "unattributed", "result": {"unattributed": "invoice in_test_hse_unattributed_1 of subscription sub_test_hse_unattributed_1, which names no known user: no tokens"}}',
  'its paid invoice gets a final answer, not 55000');
select is(tests.error_sqlstate($$select public.handle_stripe_event(
  pg_temp.invoice_paid('evt_test_hse_unattributed_inv_x', 'in_test_hse_unattributed_x', 'sub_test_hse_unattributed_unknown'))$$),
  '55000', 'an invoice of a subscription not heard of at all is still 55000');

-- metadata.user_id set in Stripe: the update records the subscription for that user
select is(public.handle_stripe_event(pg_temp.subscription_event('evt_test_hse_unattributed_sub_2',
  'customer.subscription.updated', '00000000-0000-4000-8716-000000000001', 1767225700)) #>> '{result,user_id}',
  '00000000-0000-4000-8716-000000000001', 'a later event naming a known user records the subscription');
select is(public.handle_stripe_event(
  pg_temp.invoice_paid('evt_test_hse_unattributed_inv_2', 'in_test_hse_unattributed_2', 'sub_test_hse_unattributed_1')) ->> 'status',
  'processed', 'and its next invoice is processed');
select is(public.get_token_balance('00000000-0000-4000-8716-000000000001') ->> 'balance', '1000',
  'the cycle under way drips');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
