-- A statement lists every entry that changed the user's tokens, newest first, in the order
-- they were written (entries of one transaction included), each with what it was, its change
-- and the balance before and after: purchases, grants, drips, usage (with its hold), expiry,
-- clawbacks and voids. Each entry's balance_before is the next older entry's balance_after,
-- and the newest balance_after is the user's balance.
begin;
select plan(7);
set local timezone to 'UTC';

select tests.create_user('statement-kinds@example.test', '00000000-0000-4000-8b02-000000000001');
select tests.authenticate_as_service_role();
-- expiries make the burn order certain: the trial grant first, then the admin grant, the purchase last
select public.grant_tokens('00000000-0000-4000-8b02-000000000001', 1000, 'admin_grant', 'statement-kinds-g1',
  p_expires_at => now() + interval '30 days', p_metadata => '{"reason": "welcome"}');
select public.grant_tokens('00000000-0000-4000-8b02-000000000001', 300, 'trial_grant', 'statement-kinds-g2', null, now() + interval '1 day');
select public.record_purchase('00000000-0000-4000-8b02-000000000001', 'pack_small', 'statement-kinds-p1', 999, 'usd',
  p_stripe_checkout_session_id => 'cs_statement_kinds', p_stripe_payment_intent_id => 'pi_statement_kinds');
select set_config('test.hold', public.reserve_tokens('chat', 300, 'statement-kinds-r1', '00000000-0000-4000-8b02-000000000001') ->> 'hold_id', true);
select public.settle_hold(current_setting('test.hold')::uuid, 200, 'gpt-4o');
select public.record_usage('vision_generation', 25, 'statement-kinds-u1', '00000000-0000-4000-8b02-000000000001', 'vision-2');
select public.void_grant((select id from public.token_transactions where idempotency_key = 'statement-kinds-g1'),
  'granted by mistake', 'statement-kinds-v1');
select public.expire_tokens(now() + interval '2 days');
select tests.create_subscription('00000000-0000-4000-8b02-0000000000a1', '00000000-0000-4000-8b02-000000000001');
select public.run_drip('00000000-0000-4000-8b02-0000000000a1', now());
select set_config('test.statement', public.get_token_statement('00000000-0000-4000-8b02-000000000001')::text, true);
select tests.clear_authentication();

create temporary table entries as
  select e.ordinality as n, e.value as entry
    from jsonb_array_elements(current_setting('test.statement')::jsonb -> 'entries') with ordinality e;

select results_eq(
  $$select entry ->> 'kind', entry ->> 'type', (entry ->> 'tokens')::bigint from entries order by n$$,
  $$values ('drip', 'drip', 375000::bigint), ('transaction', 'expiration', -75::bigint),
           ('transaction', 'void', -1000::bigint), ('usage', 'usage', -25::bigint), ('usage', 'usage', -200::bigint),
           ('transaction', 'purchase', 100000::bigint), ('transaction', 'trial_grant', 300::bigint),
           ('transaction', 'admin_grant', 1000::bigint)$$,
  'every entry, newest first, with its kind, type and change');
select is_empty(
  $$select 1 from entries a join entries b on b.n = a.n + 1
     where (a.entry ->> 'balance_before')::bigint <> (b.entry ->> 'balance_after')::bigint
        or (a.entry ->> 'balance_after')::bigint <> (a.entry ->> 'balance_before')::bigint + (a.entry ->> 'tokens')::bigint$$,
  'each entry starts where the older one ended, and moves the balance by its change');
select is((select (entry ->> 'balance_after')::bigint from entries where n = 1),
  (select balance from public.token_balances where user_id = '00000000-0000-4000-8b02-000000000001'),
  'the newest balance_after is the balance');
select is((select entry -> 'details' from entries where entry ->> 'type' = 'purchase'),
  (select jsonb_build_object('source', 'stripe', 'pack_id', 'pack_small', 'amount_cents', 999, 'currency', 'usd',
     'stripe_checkout_session_id', 'cs_statement_kinds', 'stripe_payment_intent_id', 'pi_statement_kinds',
     'idempotency_key', 'statement-kinds-p1')),
  'a purchase says its pack, amount and Stripe ids');
select is((select (entry -> 'details') - 'idempotency_key'::text from entries where (entry ->> 'tokens')::bigint = -200),
  jsonb_build_object('feature', 'chat', 'model', 'gpt-4o', 'hold_id', current_setting('test.hold')),
  'a settled usage says its feature, model and hold');
select is((select entry -> 'details' ->> 'reason' from entries where entry ->> 'type' = 'void'), 'granted by mistake',
  'a void says its reason');
select is((select entry -> 'details' -> 'cycle_number' from entries where entry ->> 'kind' = 'drip'), '1'::jsonb,
  'a drip says its cycle');

select * from finish();
rollback;
