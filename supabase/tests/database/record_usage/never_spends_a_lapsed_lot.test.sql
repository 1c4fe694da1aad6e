-- A lot that has lapsed is never spent, even before a sweep has removed it: record_usage
-- first moves it out of the balance with an `expiration` transaction, then spends live lots.
begin;
select plan(12);

select tests.create_user('ru-exp-alice@example.test', '00000000-0000-4000-8103-000000000001');

-- 50 + 7 tokens in lots that have lapsed but were never swept (the balance still counts
-- them, as it would between two sweeps), and 20 permanent tokens.
select public.grant_tokens('00000000-0000-4000-8103-000000000001', 50, 'trial_grant', 'ru-exp-trial', null, now() + interval '1 day');
select public.grant_tokens('00000000-0000-4000-8103-000000000001', 7, 'subscription_grant', 'ru-exp-sub', null, now() + interval '1 day');
select public.grant_tokens('00000000-0000-4000-8103-000000000001', 20, 'admin_grant', 'ru-exp-perm');
update public.token_lots l set expires_at = now() - interval '1 minute'
  from public.token_transactions t where t.id = l.transaction_id and t.idempotency_key = 'ru-exp-trial';
-- a lot whose expiry is exactly now has lapsed too
update public.token_lots l set expires_at = now()
  from public.token_transactions t where t.id = l.transaction_id and t.idempotency_key = 'ru-exp-sub';

select is(tests.balance_and_debt('00000000-0000-4000-8103-000000000001'), 'balance=77 debt=0',
  'before a sweep the stored balance still counts the lapsed lots');
select is(public.get_token_balance('00000000-0000-4000-8103-000000000001') ->> 'balance', '20',
  'get_token_balance counts only the live lot');

-- More than the live tokens: refused, and the refusal leaves everything as it was.
select tests.authenticate_as('00000000-0000-4000-8103-000000000001');
select is(tests.error_summary($$select public.record_usage('chat', 30, 'ru-exp-u0')$$),
  'PT402 Insufficient tokens. (balance: 20, required: 30)',
  'lapsed tokens cannot be spent: the refusal reports the live balance');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8103-000000000001'), 'balance=77 lots=3 remaining=77 transactions=3',
  'a refused usage leaves no expiration transaction behind, and no usage');

select tests.authenticate_as('00000000-0000-4000-8103-000000000001');
select set_config('test.r', public.record_usage('chat', 15, 'ru-exp-u1')::text, true);
select tests.clear_authentication();

select is((current_setting('test.r')::jsonb ->> 'balance_before')::bigint, 20::bigint,
  'the usage starts from the balance after the sweep');
select is((current_setting('test.r')::jsonb ->> 'balance_after')::bigint, 5::bigint,
  'and spends from the live lot');
select results_eq(
  $$select t.token_amount, t.balance_before, t.balance_after, t.source, t.idempotency_key = 'expiration:' || l.id,
           t.metadata ->> 'lot_id' = l.id::text
      from public.token_transactions t
      join public.token_lots l on l.id = (t.metadata ->> 'lot_id')::uuid
     where t.user_id = '00000000-0000-4000-8103-000000000001' and t.transaction_type = 'expiration'
     order by t.balance_before desc$$,
  $$values (-50::bigint, 77::bigint, 27::bigint, 'expiry'::text, true, true),
           (-7::bigint, 27::bigint, 20::bigint, 'expiry'::text, true, true)$$,
  'each lapsed lot left the balance through its own expiration transaction, oldest expiry first');
select results_eq(
  $$select t.idempotency_key, l.remaining
      from public.token_lots l join public.token_transactions t on t.id = l.transaction_id
     where l.user_id = '00000000-0000-4000-8103-000000000001' order by t.idempotency_key$$,
  $$values ('ru-exp-perm'::text, 5::bigint), ('ru-exp-sub'::text, 0::bigint), ('ru-exp-trial'::text, 0::bigint)$$,
  'the lapsed lots are empty, the permanent lot paid for the usage');
select is(tests.balance_and_debt('00000000-0000-4000-8103-000000000001'), 'balance=5 debt=0',
  'the stored balance is the live balance');
select is(public.get_token_balance('00000000-0000-4000-8103-000000000001') ->> 'balance', '5',
  'get_token_balance agrees');
select is(
  (select count(*)::int from public.token_transactions
    where user_id = '00000000-0000-4000-8103-000000000001' and transaction_type = 'expiration'),
  2, 'exactly one expiration per lapsed lot');
select is_empty(
  $$select * from public.verify_token_ledger('00000000-0000-4000-8103-000000000001')$$,
  'the ledger is consistent');

select * from finish();
rollback;
