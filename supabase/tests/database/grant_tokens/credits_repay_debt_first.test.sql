-- Credits repay debt first. A negative legacy balance is carried into the ledger as debt
-- (an opening_balance posted with debt allowed, as the legacy migration does); a grant then
-- pays the debt before any of it becomes spendable.
begin;
select plan(11);

select tests.create_user_in_debt('gt-debt-alice@example.test', '00000000-0000-4000-8203-000000000001', 50);
select is(tests.balance_and_debt('00000000-0000-4000-8203-000000000001'), 'balance=-50 debt=50',
  'the user starts 50 tokens in debt');

select tests.authenticate_as_service_role();
select set_config('test.g1', public.grant_tokens('00000000-0000-4000-8203-000000000001', 30, 'admin_grant', 'gt-debt-1')::text, true);
select tests.clear_authentication();
select is((current_setting('test.g1')::jsonb ->> 'balance_before')::bigint, -50::bigint, 'balance_before shows the debt');
select is((current_setting('test.g1')::jsonb ->> 'balance_after')::bigint, -20::bigint, 'the grant went to the debt');
select results_eq(
  $$select original, remaining from public.token_lots where transaction_id = (current_setting('test.g1')::jsonb ->> 'transaction_id')::uuid$$,
  $$values (30::bigint, 0::bigint)$$,
  'the lot of a grant that only repays debt holds nothing');
select is(tests.balance_and_debt('00000000-0000-4000-8203-000000000001'), 'balance=-20 debt=20',
  'the debt went down by the grant');

-- nothing can be spent or deducted while in debt
select tests.authenticate_as('00000000-0000-4000-8203-000000000001');
select is(tests.error_detail($$select public.record_usage('chat', 1, 'gt-debt-u1')$$),
  'balance: 0, required: 1', 'usage in debt is PT402; what is available is reported as 0, never negative');
select is(
  (select jsonb_object_agg(key, value) from jsonb_each(public.get_token_balance())
    where key in ('balance', 'debt', 'lots', 'next_expiry')),
  '{"balance":-20,"debt":20,"lots":[],"next_expiry":null}'::jsonb,
  'get_token_balance shows the debt and no spendable lot');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8203-000000000001', 1, 'admin_deduction', 'gt-debt-d1')$$,
  'PT402', null, 'a deduction in debt is PT402');

-- a grant larger than the debt: the rest is spendable
select set_config('test.g2', public.grant_tokens('00000000-0000-4000-8203-000000000001', 100, 'trial_grant', 'gt-debt-2',
  null, now() + interval '7 days')::text, true);
select tests.clear_authentication();
select is((current_setting('test.g2')::jsonb ->> 'balance_after')::bigint, 80::bigint, 'the balance is the grant minus the debt');
select results_eq(
  $$select original, remaining from public.token_lots where transaction_id = (current_setting('test.g2')::jsonb ->> 'transaction_id')::uuid$$,
  $$values (100::bigint, 80::bigint)$$,
  'the lot holds what is left after repaying');
select is(tests.verified_balance('00000000-0000-4000-8203-000000000001'), 'balance=80 debt=0',
  'the debt is paid off; the ledger is consistent');

select * from finish();
rollback;
