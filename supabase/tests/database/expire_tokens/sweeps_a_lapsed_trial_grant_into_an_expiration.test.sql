-- expire_tokens sweeps a lapsed trial grant into an `expiration` transaction: the tokens
-- left in the lot leave the balance (balance_before/after), the lot is emptied, permanent
-- tokens stay. Before the expiry instant nothing happens; at the instant the lot is lapsed;
-- a second sweep finds nothing.
begin;
select plan(11);
set local timezone to 'UTC';

select tests.freeze_other_lots();

select tests.create_user('et-trial-alice@example.test', '00000000-0000-4000-d301-000000000001', 5000);
select tests.create_user('et-trial-bob@example.test', '00000000-0000-4000-d301-000000000002');
select public.grant_tokens('00000000-0000-4000-d301-000000000001', 100000, 'trial_grant', 'et-trial-a', null, now() + interval '1 day');
select public.record_usage('chat', 30000, 'et-trial-use', '00000000-0000-4000-d301-000000000001');
select public.grant_tokens('00000000-0000-4000-d301-000000000002', 2000, 'trial_grant', 'et-trial-b', null, now() + interval '3 days');

select is(public.expire_tokens(now() + interval '1 day' - interval '1 microsecond'),
  '{"users": 0, "tokens_expired": 0}'::jsonb, 'one microsecond before the expiry: nothing to sweep');
select is(public.expire_tokens(now() + interval '2 days'),
  '{"users": 1, "tokens_expired": 70000}'::jsonb, 'a day after the expiry: the 70,000 left of the trial are swept');

select results_eq(
  $$select transaction_type, token_amount, balance_before, balance_after, source, expires_at, is_legacy,
           idempotency_key = 'expiration:' || (metadata ->> 'lot_id'), metadata - 'lot_id'
      from public.token_transactions where user_id = '00000000-0000-4000-d301-000000000001' and transaction_type = 'expiration'$$,
  $$values ('expiration'::text, -70000::bigint, 75000::bigint, 5000::bigint, 'expiry'::text, null::timestamptz, false, true,
            jsonb_build_object('lot_source', 'trial_grant', 'expired_at', now() + interval '1 day'))$$,
  'one expiration transaction: -70,000, 75,000 -> 5,000, keyed and described by its lot');
select is(
  (select (metadata ->> 'lot_id')::uuid from public.token_transactions
    where user_id = '00000000-0000-4000-d301-000000000001' and transaction_type = 'expiration'),
  (select id from public.token_lots where user_id = '00000000-0000-4000-d301-000000000001' and source = 'trial_grant'),
  'it names the trial lot');
select results_eq(
  $$select source, original, remaining from public.token_lots where user_id = '00000000-0000-4000-d301-000000000001' order by source$$,
  $$values ('admin_grant'::text, 5000::bigint, 5000::bigint), ('trial_grant', 100000::bigint, 0::bigint)$$,
  'the trial lot is empty; the permanent grant is untouched');
select is(tests.balance_and_debt('00000000-0000-4000-d301-000000000001'), 'balance=5000 debt=0', 'the stored balance lost the lapsed tokens');
select is(public.expire_tokens(now() + interval '2 days'), '{"users": 0, "tokens_expired": 0}'::jsonb,
  'a second sweep finds nothing');
select is((select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-d301-000000000001' and transaction_type = 'expiration'),
  1, 'still one expiration transaction');

-- bob's trial lapses exactly at the as-of
select is(public.expire_tokens(now() + interval '3 days'), '{"users": 1, "tokens_expired": 2000}'::jsonb,
  'a lot whose expiry equals the as-of is lapsed');
select results_eq(
  $$select token_amount, balance_before, balance_after from public.token_transactions
     where user_id = '00000000-0000-4000-d301-000000000002' and transaction_type = 'expiration'$$,
  $$values (-2000::bigint, 2000::bigint, 0::bigint)$$, 'bob''s expiration: 2,000 -> 0');
select is_empty($$select * from public.verify_token_ledger() where user_id in
  ('00000000-0000-4000-d301-000000000001', '00000000-0000-4000-d301-000000000002')$$, 'the ledger is consistent');

select * from finish();
rollback;
