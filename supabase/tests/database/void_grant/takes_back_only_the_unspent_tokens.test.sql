-- Voiding a grant or purchase takes back exactly what its lot still holds, as one `void`
-- transaction pointing at it; tokens already spent stay spent (a void never creates debt, and
-- never touches other lots). A fully spent grant voids 0 tokens (the void is still recorded).
-- The ledger verifies afterwards.
begin;
select plan(8);

select tests.create_user('void-unspent@example.test', '00000000-0000-4000-8b07-000000000001');
-- the trial grant expires first, so usage burns it first
select public.grant_tokens('00000000-0000-4000-8b07-000000000001', 1000, 'trial_grant', 'void-unspent-g1', null, now() + interval '7 days');
select public.grant_tokens('00000000-0000-4000-8b07-000000000001', 500, 'admin_grant', 'void-unspent-g2');
select public.record_usage('chat', 700, 'void-unspent-u1', '00000000-0000-4000-8b07-000000000001');
select set_config('test.g1', (select id::text from public.token_transactions where idempotency_key = 'void-unspent-g1'), true);

select is(public.void_grant(current_setting('test.g1')::uuid, 'trial abuse', 'void-unspent-k1')
            - 'transaction_id' - 'user_id',
  jsonb_build_object('transaction_type', 'void', 'token_amount', -300, 'balance_before', 800, 'balance_after', 500,
    'replayed', false, 'voided_transaction_id', current_setting('test.g1'), 'tokens_voided', 300, 'tokens_spent', 700),
  'the 300 unspent tokens leave; the 700 spent stay spent');
select results_eq(
  $$select t.related_transaction_id::text, t.token_amount from public.token_transactions t
     where t.user_id = '00000000-0000-4000-8b07-000000000001' and t.transaction_type = 'void'$$,
  $$values (current_setting('test.g1'), -300::bigint)$$, 'one void transaction, pointing at the grant');
select results_eq(
  $$select source, remaining from public.token_lots where user_id = '00000000-0000-4000-8b07-000000000001' order by source$$,
  $$values ('admin_grant'::text, 500::bigint), ('trial_grant'::text, 0::bigint)$$,
  'the voided grant''s lot is empty; the other lot is untouched');
select is((select debt from public.token_balances where user_id = '00000000-0000-4000-8b07-000000000001'), 0::bigint, 'no debt');

-- a fully spent grant
select public.record_usage('chat', 500, 'void-unspent-u2', '00000000-0000-4000-8b07-000000000001');
select is((public.void_grant((select id from public.token_transactions where idempotency_key = 'void-unspent-g2'), 'all spent',
  'void-unspent-k2') -> 'tokens_voided')::bigint, 0::bigint, 'a fully spent grant voids nothing');
select is((select balance from public.token_balances where user_id = '00000000-0000-4000-8b07-000000000001'), 0::bigint,
  'the balance stays at 0, not below');
select is((select count(*) from public.token_transactions where user_id = '00000000-0000-4000-8b07-000000000001' and transaction_type = 'void'),
  2::bigint, 'both voids are recorded');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-8b07-000000000001')$$, 'the ledger verifies');

select * from finish();
rollback;
