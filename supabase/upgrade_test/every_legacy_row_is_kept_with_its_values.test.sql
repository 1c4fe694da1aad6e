-- After the upgrade every legacy row is still there with the same values (compared with the
-- snapshot legacy_schema.sql took before migrating), flagged is_legacy, with amounts widened
-- to bigint; and the ledger's new rules protect the legacy rows too.
begin;
select plan(32);
-- The seed's TIMESTAMP columns hold UTC wall-clock times (Supabase runs in UTC); a later
-- migration may turn them into timestamptz. Compare them as UTC whatever the server's zone.
set local timezone = 'UTC';

-- The snapshot holds what legacy_schema.sql wrote (an empty snapshot would prove nothing).
select is((select count(*)::int from legacy_snapshot.token_transactions), 16, 'snapshot: 16 legacy transactions');
select is((select count(*)::int from legacy_snapshot.token_drips), 13, 'snapshot: 13 legacy drips');
select is((select count(*)::int from legacy_snapshot.token_usage), 15, 'snapshot: 15 legacy usage rows');
select is((select count(*)::int from legacy_snapshot.customer_subscriptions), 6, 'snapshot: 6 subscriptions');

-- Every legacy row, every legacy column, same values.
select bag_eq(
  $$select id, user_id, transaction_type, token_amount, balance_before, balance_after, source, created_at
      from public.token_transactions where is_legacy$$,
  $$select id, user_id, transaction_type, token_amount, balance_before, balance_after, source, created_at
      from legacy_snapshot.token_transactions$$,
  'token_transactions: every legacy row kept with the same values');
select bag_eq(
  $$select id, user_id, subscription_id, drip_amount, drip_date, cycle_number, rollover_from_previous,
           rollover_cycles_count, expired_tokens, balance_before, balance_after, billing_period_start,
           billing_period_end, metadata, created_at
      from public.token_drips where is_legacy$$,
  $$select id, user_id, subscription_id, drip_amount, drip_date, cycle_number, rollover_from_previous,
           rollover_cycles_count, expired_tokens, balance_before, balance_after, billing_period_start,
           billing_period_end, metadata, created_at
      from legacy_snapshot.token_drips$$,
  'token_drips: every legacy row kept with the same values');
select bag_eq(
  $$select id, user_id, feature, tokens, model, metadata, created_at from public.token_usage where is_legacy$$,
  $$select id, user_id, feature, tokens, model, metadata, created_at from legacy_snapshot.token_usage$$,
  'token_usage: every legacy row kept with the same values');
select bag_eq(
  'select id, user_id from public.customer_subscriptions',
  'select id, user_id from legacy_snapshot.customer_subscriptions',
  'customer_subscriptions: every row kept');

-- Exactly the pre-existing rows are legacy; the upgrade wrote no usage or drips, and only
-- opening balances into token_transactions.
select set_eq('select id from public.token_transactions where is_legacy',
  'select id from legacy_snapshot.token_transactions', 'token_transactions: exactly the old rows are is_legacy');
select set_eq('select id from public.token_drips where is_legacy',
  'select id from legacy_snapshot.token_drips', 'token_drips: exactly the old rows are is_legacy');
select set_eq('select id from public.token_usage where is_legacy',
  'select id from legacy_snapshot.token_usage', 'token_usage: exactly the old rows are is_legacy');
select is_empty('select 1 from public.token_usage where not is_legacy', 'the upgrade wrote no usage');
select is_empty('select 1 from public.token_drips where not is_legacy', 'the upgrade wrote no drips');
select results_eq(
  $$select distinct transaction_type from public.token_transactions where not is_legacy order by 1$$,
  $$values ('expiration'), ('opening_balance')$$,
  'the upgrade wrote only opening balances into token_transactions, and the expiry of drip tokens whose time had passed');

-- Amounts are bigint now (counts stay integer).
select col_type_is('public', 'token_transactions', 'token_amount', 'bigint', 'token_transactions.token_amount is bigint');
select col_type_is('public', 'token_transactions', 'balance_before', 'bigint', 'token_transactions.balance_before is bigint');
select col_type_is('public', 'token_transactions', 'balance_after', 'bigint', 'token_transactions.balance_after is bigint');
select col_type_is('public', 'token_drips', 'drip_amount', 'bigint', 'token_drips.drip_amount is bigint');
select col_type_is('public', 'token_drips', 'rollover_from_previous', 'bigint', 'token_drips.rollover_from_previous is bigint');
select col_type_is('public', 'token_drips', 'expired_tokens', 'bigint', 'token_drips.expired_tokens is bigint');
select col_type_is('public', 'token_drips', 'balance_before', 'bigint', 'token_drips.balance_before is bigint');
select col_type_is('public', 'token_drips', 'balance_after', 'bigint', 'token_drips.balance_after is bigint');
select col_type_is('public', 'token_usage', 'tokens', 'bigint', 'token_usage.tokens is bigint');

-- The odd rows, named: mis-filed purchases stay usage rows as they were; the INTEGER extremes
-- and the NULL rows survive the widening.
select results_eq(
  $$select feature, tokens, metadata ->> 'pack_id' from public.token_usage
     where user_id = 'e0000000-0000-4000-8000-000000000005' and feature in ('token_purchase', 'admin_grant')
     order by created_at$$,
  $$values ('token_purchase', 100000::bigint, 'pack_large'), ('token_purchase', 25000::bigint, 'pack_small'),
           ('admin_grant', 5000::bigint, null)$$,
  'mis-filed purchases and grants in token_usage are kept as they are');
select results_eq(
  $$select drip_amount, rollover_from_previous, expired_tokens, balance_after, cycle_number
      from public.token_drips where user_id = 'f0000000-0000-4000-8000-000000000006'$$,
  $$values (2147483647::bigint, 2147483647::bigint, 2147483647::bigint, 2147483647::bigint, 2147483647)$$,
  'INTEGER maximum values in token_drips are intact');
select results_eq(
  $$select token_amount, balance_after from public.token_transactions
     where user_id = '80000000-0000-4000-8000-000000000008' and is_legacy$$,
  $$values (-2147483648::bigint, -2147483648::bigint)$$,
  'INTEGER minimum values in token_transactions are intact');
select is(
  (select created_at::timestamptz from public.token_drips
    where user_id = 'a0000000-0000-4000-8000-000000000001' and cycle_number = 3),
  '2025-03-12 08:00:00+00'::timestamptz, 'a legacy drip keeps its time (UTC)');
select is(
  (select count(*)::int from public.token_transactions
    where is_legacy and transaction_type is null and token_amount is null and balance_after is null),
  2, 'transactions with NULL type and amounts are kept');

-- Append-only now covers the legacy rows too; the seed's own foreign-key actions still work.
select throws_ok(
  $$update public.token_transactions set token_amount = 1 where user_id = 'a0000000-0000-4000-8000-000000000001'$$,
  '42501', null, 'a legacy transaction cannot be changed');
select throws_ok(
  $$delete from public.token_usage where user_id = 'c0000000-0000-4000-8000-000000000003'$$,
  '42501', null, 'a legacy usage row cannot be deleted');
delete from public.customer_subscriptions where id = '57000000-0000-4000-8000-000000000007';
select is(
  (select count(*)::int from public.token_drips
    where user_id = '70000000-0000-4000-8000-000000000007' and subscription_id is null),
  2, 'deleting a subscription still sets its drips'' subscription_id to NULL (seed ON DELETE SET NULL)');
delete from auth.users where id = 'a0000000-0000-4000-8000-000000000001';
select is_empty(
  $$select 1 from public.token_transactions where user_id = 'a0000000-0000-4000-8000-000000000001'
    union all select 1 from public.token_drips where user_id = 'a0000000-0000-4000-8000-000000000001'
    union all select 1 from public.token_usage where user_id = 'a0000000-0000-4000-8000-000000000001'
    union all select 1 from public.token_lots where user_id = 'a0000000-0000-4000-8000-000000000001'
    union all select 1 from public.token_balances where user_id = 'a0000000-0000-4000-8000-000000000001'$$,
  'deleting a user still removes all of their rows, legacy and new (seed ON DELETE CASCADE)');

select * from finish();
rollback;
