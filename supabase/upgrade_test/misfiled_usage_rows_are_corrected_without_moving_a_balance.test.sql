-- The misfiled history on the product's legacy rows: erin's pack purchases and admin grant
-- were written to token_usage. correct_misfiled_usage shows a dry run (the rows, what each
-- becomes, per-user totals) and writes nothing; applying that plan gives each row a legacy
-- counterpart in token_transactions of the right type, linked both ways, and leaves the usage
-- row as it was; applying again writes nothing more. Balances, lots and
-- verify_token_ledger() do not move, and erin's statement shows each corrected entry once.
begin;
select plan(15);

select tests.authenticate_as_service_role();
create temporary table before_balances as select user_id, balance, debt from public.token_balances;
grant select on before_balances to service_role;
create temporary table before_lots as select id, remaining from public.token_lots;
grant select on before_lots to service_role;

-- the dry run
select set_config('test.plan', public.correct_misfiled_usage('purchase', p_feature => 'token_purchase')::text, true);
select is((current_setting('test.plan')::jsonb - 'rows' - 'plan_hash'),
  '{"dry_run": true, "transaction_type": "purchase", "users": [{"user_id": "e0000000-0000-4000-8000-000000000005", "rows": 2, "tokens": 125000}],
    "total_rows": 2, "total_tokens": 125000, "corrected": 0, "already_corrected": 0}'::jsonb,
  'the dry run: two of erin''s rows, 125000 tokens');
select is((select jsonb_agg((r -> 'becomes') - 'created_at' order by r ->> 'created_at')
             from jsonb_array_elements(current_setting('test.plan')::jsonb -> 'rows') r),
  '[{"transaction_type": "purchase", "token_amount": 100000, "source": "misfiled_usage", "pack_id": "pack_large", "stripe_checkout_session_id": "cs_test_legacy_1", "is_legacy": true},
    {"transaction_type": "purchase", "token_amount": 25000, "source": "misfiled_usage", "pack_id": "pack_small", "stripe_checkout_session_id": null, "is_legacy": true}]'::jsonb,
  'each row says what it becomes: a purchase of its pack, with its Stripe session when the row had one');
select is((select count(*) from public.token_usage_corrections), 0::bigint, 'a dry run writes nothing');

-- apply the reviewed plan, twice; then the admin grant
select set_config('test.applied', public.correct_misfiled_usage('purchase', p_feature => 'token_purchase', p_apply => true,
  p_plan_hash => current_setting('test.plan')::jsonb ->> 'plan_hash', p_reason => 'issue 13: purchases written as usage')::text, true);
select is((current_setting('test.applied')::jsonb ->> 'corrected')::int, 2, 'applying corrects the two rows');
select is(public.correct_misfiled_usage('purchase', p_feature => 'token_purchase', p_apply => true,
    p_plan_hash => current_setting('test.plan')::jsonb ->> 'plan_hash') -> 'already_corrected', '2'::jsonb,
  'applying again corrects nothing more');
select is(public.correct_misfiled_usage('admin_grant', p_feature => 'admin_grant', p_apply => true,
    p_plan_hash => public.correct_misfiled_usage('admin_grant', p_feature => 'admin_grant') ->> 'plan_hash') -> 'corrected',
  '1'::jsonb, 'the admin grant written as usage is corrected too');
select tests.clear_authentication();

select results_eq(
  $$select t.transaction_type, t.token_amount, t.created_at, t.is_legacy, t.balance_before, t.pack_id
      from public.token_transactions t where t.source = 'misfiled_usage' order by t.created_at$$,
  $$values ('purchase'::text, 100000::bigint, '2025-01-06 00:00:00+00'::timestamptz, true, null::bigint, 'pack_large'::text),
           ('purchase', 25000, '2025-01-20 00:00:00+00', true, null, 'pack_small'),
           ('admin_grant', 5000, '2025-01-21 00:00:00+00', true, null, null)$$,
  'three legacy counterparts of the right types, amounts and dates');
select is_empty(
  $$select 1 from public.token_usage_corrections c
      join public.token_transactions t on t.id = c.transaction_id
      join public.token_usage u on u.id = c.usage_id
     where (t.metadata ->> 'misfiled_usage_id')::uuid is distinct from u.id or t.user_id <> u.user_id
        or t.token_amount <> u.tokens$$,
  'each counterpart and its usage row point at each other');
select is((select count(*) from public.token_usage_corrections), 3::bigint, 'three usage rows are marked misfiled');
select results_eq(
  $$select id, user_id, feature, tokens::bigint, model, metadata, created_at from public.token_usage where is_legacy order by id$$,
  $$select id, user_id, feature, tokens::bigint, model, metadata, created_at from legacy_snapshot.token_usage order by id$$,
  'every legacy usage row is still as it was');

select results_eq($$select user_id, balance, debt from public.token_balances order by user_id$$,
  $$select user_id, balance, debt from before_balances order by user_id$$, 'no balance or debt moved');
select results_eq($$select id, remaining from public.token_lots order by id$$, $$select id, remaining from before_lots order by id$$,
  'no lot moved');
select is_empty($$select * from public.verify_token_ledger()$$, 'verify_token_ledger() is still empty');

select tests.authenticate_as_service_role();
select results_eq(
  $$select e ->> 'kind', e ->> 'type', (e ->> 'tokens')::bigint, (e ->> 'legacy')::boolean
      from jsonb_array_elements(public.get_token_statement('e0000000-0000-4000-8000-000000000005') -> 'entries') e$$,
  $$values ('transaction'::text, 'opening_balance'::text, 20000::bigint, false),
           ('usage', 'usage', -900, true), ('transaction', 'admin_grant', 5000, true), ('transaction', 'purchase', 25000, true),
           ('transaction', 'purchase', 100000, true), ('transaction', 'admin_grant', 20000, true)$$,
  'erin''s statement: the ledger, then her history newest first, each corrected row once, as what it was');
select is((select count(*) from public.reconcile_token_ledger()), 0::bigint, 'the reconciliation finds nothing');

select * from finish();
rollback;
