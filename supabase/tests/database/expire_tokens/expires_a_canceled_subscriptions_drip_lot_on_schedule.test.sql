-- A canceled subscription's drip tokens expire on schedule: no cycle is issued any more to
-- expire them, so expire_tokens sweeps the lapsed drip lot into an `expiration` transaction
-- when its last cycle would have ended (cycle 1's lot: when cycle 2 ends), not before.
begin;
select plan(7);
set local timezone to 'UTC';

select tests.freeze_other_lots();

select tests.create_dripping_subscriber('et-canceled@example.test', '00000000-0000-4000-d303-000000000001', '00000000-0000-4000-d303-0000000000a1');
select public.record_usage('chat', 75000, 'et-canceled-use', '00000000-0000-4000-d303-000000000001');
update public.customer_subscriptions set status = 'canceled', canceled_at = now() where id = '00000000-0000-4000-d303-0000000000a1';

select is(public.expire_tokens(now() + interval '28 days'), '{"users": 0, "tokens_expired": 0}'::jsonb,
  'when cycle 1 ends the tokens still roll over (max_rollover_cycles 1)');
select is(public.expire_tokens(now() + interval '56 days' - interval '1 microsecond'), '{"users": 0, "tokens_expired": 0}'::jsonb,
  'one microsecond before cycle 2 would end: still there');
select is(public.expire_tokens(now() + interval '56 days'), '{"users": 1, "tokens_expired": 300000}'::jsonb,
  'when cycle 2 would end, the 300,000 left are swept');

select results_eq(
  $$select transaction_type, token_amount, balance_before, balance_after, source, metadata - 'lot_id'
      from public.token_transactions where user_id = '00000000-0000-4000-d303-000000000001'$$,
  $$values ('expiration'::text, -300000::bigint, 300000::bigint, 0::bigint, 'expiry'::text,
            jsonb_build_object('lot_source', 'drip', 'expired_at', now() + interval '56 days'))$$,
  'an expiration transaction for the drip lot: 300,000 -> 0');
select is((select count(*)::int from public.token_drips where subscription_id = '00000000-0000-4000-d303-0000000000a1'), 1,
  'no drip row was written after the cancellation');
select results_eq(
  $$select (select remaining from public.token_lots where user_id = '00000000-0000-4000-d303-000000000001'),
           (select balance from public.token_balances where user_id = '00000000-0000-4000-d303-000000000001')$$,
  $$values (0::bigint, 0::bigint)$$, 'the lot and the balance are empty');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d303-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
