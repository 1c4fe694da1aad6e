-- While a subscription is past_due its cycles are skipped, so no drip row expires its lapsed
-- drip lot: expire_tokens sweeps it into an `expiration` transaction (after moving the
-- schedule past the skipped cycles).
begin;
select plan(5);
set local timezone to 'UTC';

select tests.freeze_other_lots();

select tests.create_dripping_subscriber('et-pastdue@example.test', '00000000-0000-4000-d306-000000000001', '00000000-0000-4000-d306-0000000000a1');
update public.customer_subscriptions set status = 'past_due' where id = '00000000-0000-4000-d306-0000000000a1';

select is(public.expire_tokens(now() + interval '56 days'), '{"users": 1, "tokens_expired": 375000}'::jsonb,
  'cycle 1''s lot lapses while past_due and is swept');
select results_eq(
  $$select transaction_type, token_amount, balance_before, balance_after, metadata ->> 'lot_source'
      from public.token_transactions where user_id = '00000000-0000-4000-d306-000000000001'$$,
  $$values ('expiration'::text, -375000::bigint, 375000::bigint, 0::bigint, 'drip'::text)$$,
  'as an expiration transaction');
select is((select array_agg(cycle_number) from public.token_drips where subscription_id = '00000000-0000-4000-d306-0000000000a1'),
  array[1], 'no drip row for the skipped cycles 2 and 3');
select is(tests.drip_schedule('00000000-0000-4000-d306-0000000000a1'), 'cycle 4 at day 84', 'the schedule moved past the skipped cycles');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d306-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
