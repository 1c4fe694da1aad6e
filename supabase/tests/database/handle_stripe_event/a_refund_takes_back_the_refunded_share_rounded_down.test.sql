-- handle_stripe_event, charge.refunded: the purchase is found by payment_intent; the tokens
-- that should be gone are floor(granted x amount_refunded / amount paid) (amount_refunded is
-- cumulative), and one `refund` transaction takes back the difference to what was already
-- taken back. Rounding is down at every step, and the full amount takes back every token, so
-- partial refunds never add up to more than the purchase. The purchase's own lot goes first,
-- then other lots; what is missing becomes debt.
begin;
select plan(23);

select tests.create_users('hse-refund', '00000000-0000-4000-8708-000000000001', '00000000-0000-4000-8708-000000000002');
-- 100,000 tokens for 300 cents: a third of the price is 33,333.33 tokens.
select tests.create_pack('hse_refund_pack', 100000, 'Refund test pack');

select set_config('hse.purchase', tests.paid_checkout('evt_test_hse_refund_purchase_1', 'cs_test_hse_refund_1', 'hse_refund_pack',
  '00000000-0000-4000-8708-000000000001', 'pi_test_hse_refund_1', 300)::text, true);
-- charge_refunded_partial.json, trimmed: 100 of 300 cents refunded so far.
select set_config('hse.refund', tests.charge_refunded('evt_test_hse_refund_1', 'ch_test_hse_refund_1', 'pi_test_hse_refund_1',
  300, 100)::text, true);

create function pg_temp.refund(p_event text, p_refunded int, p_created int default 1768608000) returns jsonb language sql as $f$
  select public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.refund')::jsonb,
    '{id}', to_jsonb(p_event)),
    '{created}', to_jsonb(p_created)),
    '{data,object,amount_refunded}', to_jsonb(p_refunded)),
    '{data,object,refunded}', to_jsonb(p_refunded = 300)))
$f$;

select set_config('test.purchase', public.handle_stripe_event(current_setting('hse.purchase')::jsonb)::text, true);

-- 100 of 300 cents: floor(33,333.33) = 33,333 tokens.
select set_config('test.r1', pg_temp.refund('evt_test_hse_refund_1', 100)::text, true);
select is(current_setting('test.r1')::jsonb ->> 'status', 'processed', 'a partial refund is processed');
select is((current_setting('test.r1')::jsonb -> 'result') - 'transaction_id',
  jsonb_build_object('user_id', '00000000-0000-4000-8708-000000000001', 'transaction_type', 'refund', 'token_amount', -33333,
    'balance_before', 100000, 'balance_after', 66667, 'replayed', false,
    'purchase_id', current_setting('test.purchase')::jsonb #>> '{result,transaction_id}'),
  'a third of the price takes back floor(100000 / 3) = 33333 tokens');
select results_eq(
  $$select transaction_type, token_amount, source, related_transaction_id, pack_id, currency, stripe_charge_id,
           stripe_payment_intent_id, stripe_event_id, idempotency_key, metadata
      from public.token_transactions where id = (current_setting('test.r1')::jsonb #>> '{result,transaction_id}')::uuid$$,
  $$values ('refund'::text, -33333::bigint, 'stripe'::text, (current_setting('test.purchase')::jsonb #>> '{result,transaction_id}')::uuid,
            'hse_refund_pack'::text, 'usd'::text, 'ch_test_hse_refund_1'::text, 'pi_test_hse_refund_1'::text,
            'evt_test_hse_refund_1'::text, 'stripe:evt_test_hse_refund_1'::text,
            '{"stripe_event_type": "charge.refunded", "amount_refunded_cents": 100, "dispute_cents": 0, "dispute_active": false}'::jsonb)$$,
  'the refund row points at the purchase and names the charge and the event');

-- 200 of 300 (cumulative): floor(66,666.67) = 66,666 in all, 33,333 more.
select is(pg_temp.refund('evt_test_hse_refund_2', 200, 1768609000) #>> '{result,token_amount}', '-33333',
  'a second partial refund takes back the difference: 66666 - 33333');
-- 300 of 300: every token, 33,334 more.
select set_config('test.r3', pg_temp.refund('evt_test_hse_refund_3', 300, 1768610000)::text, true);
select is(current_setting('test.r3')::jsonb #>> '{result,token_amount}', '-33334',
  'the full refund takes back the rest: 100000 - 66666');
select is(public.get_token_balance('00000000-0000-4000-8708-000000000001') ->> 'balance', '0', 'nothing is left of the purchase');
select is(
  (select sum(token_amount)::bigint from public.token_transactions
    where related_transaction_id = (current_setting('test.purchase')::jsonb #>> '{result,transaction_id}')::uuid),
  -100000::bigint, 'the refunds add up to exactly the purchase');
select results_eq(
  $$select remaining from public.token_lots where transaction_id = (current_setting('test.purchase')::jsonb #>> '{result,transaction_id}')::uuid$$,
  $$values (0::bigint)$$,
  'the tokens came out of the purchase''s lot');

-- Out of order: the 200-cent event delivered again as a new event, after the full refund.
select set_config('test.late', pg_temp.refund('evt_test_hse_refund_late', 200, 1768609000)::text, true);
select is(current_setting('test.late')::jsonb ->> 'status', 'processed', 'an older refund event arriving late is processed');
select is((current_setting('test.late')::jsonb -> 'result') - 'purchase_id', '{"tokens": 0, "note": "already reconciled"}'::jsonb,
  'and takes nothing back: amount_refunded never goes down');
-- A redelivery of the full refund.
select is(pg_temp.refund('evt_test_hse_refund_3', 300, 1768610000) ->> 'status', 'duplicate', 'a redelivery is a duplicate');
select is(
  (select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-8708-000000000001'),
  4, 'one purchase and three refunds');
select is(public.get_token_balance('00000000-0000-4000-8708-000000000001') ->> 'balance', '0', 'the balance stays at zero');

-- Bob has another grant: a partial refund takes from the purchase's own lot only. Then he
-- spends most of what he has, and the rest of the purchase is refunded: debt.
select public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.purchase')::jsonb,
  '{id}', '"evt_test_hse_refund_purchase_2"'),
  '{data,object,id}', '"cs_test_hse_refund_2"'),
  '{data,object,payment_intent}', '"pi_test_hse_refund_2"'),
  '{data,object,client_reference_id}', '"00000000-0000-4000-8708-000000000002"'));
select public.grant_tokens('00000000-0000-4000-8708-000000000002', 50000, 'admin_grant', 'hse-refund-bob-grant');
select set_config('hse.refund_bob', jsonb_set(jsonb_set(current_setting('hse.refund')::jsonb,
  '{data,object,id}', '"ch_test_hse_refund_2"'),
  '{data,object,payment_intent}', '"pi_test_hse_refund_2"')::text, true);
select is(public.handle_stripe_event(jsonb_set(current_setting('hse.refund_bob')::jsonb,
    '{id}', '"evt_test_hse_refund_bob_1"')) #>> '{result,token_amount}',
  '-33333', 'bob''s partial refund takes back 33333');
select results_eq(
  $$select l.source, l.remaining from public.token_lots l where l.user_id = '00000000-0000-4000-8708-000000000002' order by l.source$$,
  $$values ('admin_grant'::text, 50000::bigint), ('purchase'::text, 66667::bigint)$$,
  'from the purchase''s own lot; the other lot is untouched');
select public.record_usage('chat', 100000, 'hse-refund-bob-usage', '00000000-0000-4000-8708-000000000002');
select is(public.get_token_balance('00000000-0000-4000-8708-000000000002') ->> 'balance', '16667', 'bob spends 100000 of 116667');
select set_config('test.bob', public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.refund_bob')::jsonb,
  '{id}', '"evt_test_hse_refund_bob_2"'),
  '{data,object,amount_refunded}', '300'),
  '{data,object,refunded}', 'true'))::text, true);
select is(current_setting('test.bob')::jsonb #>> '{result,token_amount}', '-66667', 'the full refund takes back the other 66667');
select is(current_setting('test.bob')::jsonb #>> '{result,balance_after}', '-50000', 'even when that makes the balance negative');
select is(tests.balance_and_debt('00000000-0000-4000-8708-000000000002'), 'balance=-50000 debt=50000',
  'what the lots could not cover is debt');
select is((select sum(remaining)::bigint from public.token_lots where user_id = '00000000-0000-4000-8708-000000000002'),
  0::bigint, 'every lot is empty');
select public.grant_tokens('00000000-0000-4000-8708-000000000002', 1000, 'admin_grant', 'hse-refund-bob-grant-2');
select is(tests.balance_and_debt('00000000-0000-4000-8708-000000000002'), 'balance=-49000 debt=49000',
  'a later credit repays the debt');

select is(
  (select array_agg(status order by id) from public.stripe_events where id like 'evt_test_hse_refund_%'),
  array['processed', 'processed', 'processed', 'processed', 'processed', 'processed', 'processed', 'processed'],
  'eight events recorded as processed');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
