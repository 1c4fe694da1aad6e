-- A purchase voided in part and then refunded in full loses, in all, what it granted: the
-- refund takes only what the void did not (and a void after a full refund takes nothing).
-- A won dispute after a void gives back what the dispute took, not what the void took.
begin;
select plan(5);

select tests.create_user('void-refund@example.test', '00000000-0000-4000-8b09-000000000001');
select public.grant_tokens('00000000-0000-4000-8b09-000000000001', 500000, 'admin_grant', 'void-refund-g0');
select public.record_purchase('00000000-0000-4000-8b09-000000000001', 'pack_small', 'void-refund-p1', 1000, 'usd',
  p_stripe_payment_intent_id => 'pi_void_refund_1');
select public.record_purchase('00000000-0000-4000-8b09-000000000001', 'pack_small', 'void-refund-p2', 1000, 'usd',
  p_stripe_payment_intent_id => 'pi_void_refund_2');

create function pg_temp.event(p_id text, p_type text, p_object jsonb) returns jsonb language sql as $$
  select public.handle_stripe_event(jsonb_build_object('id', p_id, 'object', 'event', 'type', p_type, 'created', 1768608000,
    'data', jsonb_build_object('object', p_object))) $$;

-- purchase 1: void 100,000 (all of it: nothing was spent from it), then a full refund
select public.void_grant((select id from public.token_transactions where idempotency_key = 'void-refund-p1'), 'fraud', 'void-refund-v1');
select pg_temp.event('evt_void_refund_1', 'charge.refunded', jsonb_build_object('id', 'ch_void_refund_1', 'object', 'charge',
  'amount', 1000, 'amount_refunded', 1000, 'payment_intent', 'pi_void_refund_1', 'metadata', '{}'::jsonb));
select is((select coalesce(sum(-token_amount), 0) from public.token_transactions
            where related_transaction_id = (select id from public.token_transactions where idempotency_key = 'void-refund-p1')),
  100000::numeric, 'void and refund took back 100,000 in all, what the purchase granted');
select is((select count(*) from public.token_transactions where transaction_type = 'refund'
            and related_transaction_id = (select id from public.token_transactions where idempotency_key = 'void-refund-p1')),
  0::bigint, 'the refund found nothing left to take');

-- purchase 2: a dispute takes it all, then a void finds nothing, then the dispute is won
select pg_temp.event('evt_void_refund_2', 'charge.dispute.created', jsonb_build_object('id', 'dp_void_refund_2', 'object', 'dispute',
  'amount', 1000, 'charge', 'ch_void_refund_2', 'payment_intent', 'pi_void_refund_2', 'status', 'needs_response', 'metadata', '{}'::jsonb));
select is((public.void_grant((select id from public.token_transactions where idempotency_key = 'void-refund-p2'), 'fraud',
  'void-refund-v2') ->> 'tokens_voided')::bigint, 0::bigint, 'a void after the dispute took everything takes nothing');
select pg_temp.event('evt_void_refund_3', 'charge.dispute.closed', jsonb_build_object('id', 'dp_void_refund_2', 'object', 'dispute',
  'amount', 1000, 'charge', 'ch_void_refund_2', 'payment_intent', 'pi_void_refund_2', 'status', 'won', 'metadata', '{}'::jsonb));
select is((select sum(-token_amount) from public.token_transactions
            where related_transaction_id = (select id from public.token_transactions where idempotency_key = 'void-refund-p2')),
  0::numeric, 'the won dispute gave back what the dispute took');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-8b09-000000000001')$$, 'the ledger verifies');

select * from finish();
rollback;
