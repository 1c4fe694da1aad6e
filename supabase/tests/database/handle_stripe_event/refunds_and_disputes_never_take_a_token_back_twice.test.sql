-- handle_stripe_event, refunds and disputes of one purchase together: the tokens that should be
-- gone are min(granted, refunded share + active dispute share), so a token is never taken back
-- twice (dispute then refund of the same money), a won dispute gives back only what no refund
-- took, and a lost one keeps everything taken back.
begin;
select plan(13);

select tests.create_users('hse-rad',
  '00000000-0000-4000-8711-000000000001', '00000000-0000-4000-8711-000000000002', '00000000-0000-4000-8711-000000000003');
select tests.create_pack('hse_rad_pack', 1000, 'Refund after dispute test pack');

select set_config('hse.purchase', tests.paid_checkout('evt_test_hse_rad_purchase', 'cs_test_hse_rad', 'hse_rad_pack',
  null, 'pi_test_hse_rad')::text, true);
select set_config('hse.dispute', tests.charge_dispute('evt_test_hse_rad_dispute', 'created', 'du_test_hse_rad', 'ch_test_hse_rad',
  'pi_test_hse_rad', 500, 'needs_response')::text, true);
select set_config('hse.refund', tests.charge_refunded('evt_test_hse_rad_refund', 'ch_test_hse_rad', 'pi_test_hse_rad', 500, 500,
  p_created => 1768900000, p_object => '{"disputed": true}'::jsonb)::text, true);

-- Events of purchase `n` (1: alice, 2: bob, 3: carol): ids suffixed, amounts as given.
create function pg_temp.purchase(p_n int) returns jsonb language sql as $f$
  select public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.purchase')::jsonb,
    '{id}', to_jsonb('evt_test_hse_rad_purchase_' || p_n)),
    '{data,object,id}', to_jsonb('cs_test_hse_rad_' || p_n)),
    '{data,object,payment_intent}', to_jsonb('pi_test_hse_rad_' || p_n)),
    '{data,object,client_reference_id}', to_jsonb('00000000-0000-4000-8711-00000000000' || p_n)))
$f$;
create function pg_temp.dispute(p_n int, p_event text, p_type text, p_status text, p_cents int) returns jsonb language sql as $f$
  select public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(
    current_setting('hse.dispute')::jsonb,
    '{id}', to_jsonb('evt_test_hse_rad_' || p_event || '_' || p_n)),
    '{type}', to_jsonb(p_type)),
    '{data,object,id}', to_jsonb('du_test_hse_rad_' || p_n)),
    '{data,object,charge}', to_jsonb('ch_test_hse_rad_' || p_n)),
    '{data,object,payment_intent}', to_jsonb('pi_test_hse_rad_' || p_n)),
    '{data,object,status}', to_jsonb(p_status)),
    '{data,object,amount}', to_jsonb(p_cents)))
$f$;
create function pg_temp.refund(p_n int, p_event text, p_cents int) returns jsonb language sql as $f$
  select public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.refund')::jsonb,
    '{id}', to_jsonb('evt_test_hse_rad_' || p_event || '_' || p_n)),
    '{data,object,id}', to_jsonb('ch_test_hse_rad_' || p_n)),
    '{data,object,payment_intent}', to_jsonb('pi_test_hse_rad_' || p_n)),
    '{data,object,amount_refunded}', to_jsonb(p_cents)))
$f$;
create function pg_temp.clawed(p_n int) returns bigint language sql as $f$
  select -coalesce(sum(t.token_amount), 0)::bigint from public.token_transactions t
  where t.user_id = ('00000000-0000-4000-8711-00000000000' || p_n)::uuid and t.transaction_type <> 'purchase'
$f$;

select pg_temp.purchase(1), pg_temp.purchase(2), pg_temp.purchase(3);

-- Alice: the whole amount disputed, then (the merchant having refunded too) the whole amount refunded.
select is(pg_temp.dispute(1, 'created', 'charge.dispute.created', 'needs_response', 500) #>> '{result,token_amount}', '-1000',
  'alice: the dispute takes back all 1000 tokens');
select is((pg_temp.refund(1, 'refund', 500) -> 'result') - 'purchase_id', '{"tokens": 0, "note": "already reconciled"}'::jsonb,
  'alice: the refund of the same money takes nothing more');
select is((pg_temp.dispute(1, 'won', 'charge.dispute.closed', 'won', 500) -> 'result') - 'purchase_id',
  '{"tokens": 0, "note": "already reconciled"}'::jsonb,
  'alice: winning the dispute gives nothing back: the money was refunded');
select is(pg_temp.clawed(1), 1000::bigint, 'alice: 1000 tokens taken back in all, once');

-- Bob: 300 of 500 cents disputed (600 tokens), 200 refunded (400 tokens), then the dispute is won.
select is(pg_temp.dispute(2, 'created', 'charge.dispute.created', 'needs_response', 300) #>> '{result,token_amount}', '-600',
  'bob: the dispute of 300 cents takes back 600');
select is(pg_temp.refund(2, 'refund', 200) #>> '{result,token_amount}', '-400',
  'bob: the refund of the other 200 cents takes back 400');
select is(pg_temp.dispute(2, 'won', 'charge.dispute.closed', 'won', 300) #>> '{result,token_amount}', '600',
  'bob: the won dispute gives back its 600, not the refunded 400');
select is(pg_temp.clawed(2), 400::bigint, 'bob: in the end only the refunded share is gone');

-- Carol: refund first (200 cents: 400 tokens), then a dispute of the remaining 300 (600), lost.
select is(pg_temp.refund(3, 'refund', 200) #>> '{result,token_amount}', '-400', 'carol: the refund takes back 400');
select is(pg_temp.dispute(3, 'created', 'charge.dispute.created', 'needs_response', 300) #>> '{result,token_amount}', '-600',
  'carol: the dispute of the rest takes back 600');
select is(pg_temp.dispute(3, 'lost', 'charge.dispute.closed', 'lost', 300) ->> 'status', 'ignored', 'carol: the lost dispute is ignored');
select is(pg_temp.clawed(3), 1000::bigint, 'carol: all 1000 stay taken back');

select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
