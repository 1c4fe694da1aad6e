-- verify_token_ledger returns no row for users whose ledger is healthy, whatever went
-- through the RPCs: grants, expiring grants that lapsed, purchases, usage, deductions.
begin;
select plan(5);

select tests.create_users('vl-healthy', '00000000-0000-4000-8501-000000000001', '00000000-0000-4000-8501-000000000002');
insert into public.token_packs (id, stripe_price_id, tokens) values ('test-8501-pack', 'price_test_8501', 300);

select public.grant_tokens('00000000-0000-4000-8501-000000000001', 100, 'admin_grant', 'vl-healthy-1');
select public.grant_tokens('00000000-0000-4000-8501-000000000001', 50, 'trial_grant', 'vl-healthy-2', null, now() + interval '1 day');
select public.record_purchase('00000000-0000-4000-8501-000000000001', 'test-8501-pack', 'vl-healthy-3', 500, 'usd');
select public.record_usage('chat', 70, 'vl-healthy-4', '00000000-0000-4000-8501-000000000001');
select public.grant_tokens('00000000-0000-4000-8501-000000000001', 30, 'admin_deduction', 'vl-healthy-5');
-- a grant lapses and is swept by the next usage
select public.grant_tokens('00000000-0000-4000-8501-000000000001', 40, 'trial_grant', 'vl-healthy-6', null, now() + interval '1 day');
update public.token_lots l set expires_at = now() - interval '1 minute'
  from public.token_transactions t where t.id = l.transaction_id and t.idempotency_key = 'vl-healthy-6';
select public.record_usage('chat', 1, 'vl-healthy-7', '00000000-0000-4000-8501-000000000001');

select is(
  (select count(*)::int from public.token_transactions
    where user_id = '00000000-0000-4000-8501-000000000001' and transaction_type = 'expiration'),
  1, 'the history includes an expiration');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-8501-000000000001')$$,
  'a user with grants, a purchase, usage, a deduction and an expiration is consistent');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-8501-000000000002')$$,
  'a user without any token rows is consistent');
select is_empty(
  $$select * from public.verify_token_ledger()
     where user_id in ('00000000-0000-4000-8501-000000000001', '00000000-0000-4000-8501-000000000002')$$,
  'the whole-ledger check does not list them either');
select results_eq(
  $$select balance from public.token_balances where user_id = '00000000-0000-4000-8501-000000000001'$$,
  $$values ((100 + 50 + 300 - 70 - 30 + 40 - 40 - 1)::bigint)$$,
  'the stored balance is the sum of the history');

select * from finish();
rollback;
