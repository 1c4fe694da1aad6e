-- After the upgrade the RPCs work for legacy users, called as the service the way PostgREST
-- calls them: balances continue from the opening balance, debt is repaid first, amounts go
-- past the INTEGER range, and the ledger still verifies.
begin;
select plan(17);

select tests.authenticate_as_service_role();

-- alice: 512345 carried over.
select is(
  (select jsonb_object_agg(e.key, e.value) from jsonb_each(
     public.grant_tokens('a0000000-0000-4000-8000-000000000001', 1000, 'admin_grant', 'upgrade:alice:grant'))
   e where e.key in ('token_amount', 'balance_before', 'balance_after', 'replayed')),
  '{"token_amount": 1000, "balance_before": 512345, "balance_after": 513345, "replayed": false}'::jsonb,
  'alice: a grant continues from her opening balance');
select is(
  (select jsonb_object_agg(e.key, e.value) from jsonb_each(
     public.record_usage('chat', 345, 'upgrade:alice:use', 'a0000000-0000-4000-8000-000000000001'))
   e where e.key in ('tokens', 'balance_before', 'balance_after', 'replayed')),
  '{"tokens": 345, "balance_before": 513345, "balance_after": 513000, "replayed": false}'::jsonb,
  'alice: usage continues from there');
select is((public.record_usage('chat', 345, 'upgrade:alice:use', 'a0000000-0000-4000-8000-000000000001') ->> 'replayed')::boolean,
  true, 'alice: the same usage again is a replay');
select is((public.get_token_balance('a0000000-0000-4000-8000-000000000001') ->> 'balance')::bigint, 513000::bigint,
  'alice: balance 513000');
select results_eq(
  $$select source, remaining from public.token_lots where user_id = 'a0000000-0000-4000-8000-000000000001' order by created_at$$,
  $$values ('opening_balance', 512000::bigint), ('admin_grant', 1000::bigint)$$,
  'alice: usage burned the older opening-balance lot first');

-- dave: 1500 of debt carried over.
select is((public.grant_tokens('d0000000-0000-4000-8000-000000000004', 1000, 'admin_grant', 'upgrade:dave:grant1') ->> 'balance_after')::bigint,
  -500::bigint, 'dave: a grant repays his legacy debt first');
select throws_ok(
  $$select public.record_usage('chat', 1, 'upgrade:dave:use1', 'd0000000-0000-4000-8000-000000000004')$$,
  'PT402', null, 'dave: no usage while he still owes');
select is((public.grant_tokens('d0000000-0000-4000-8000-000000000004', 600, 'admin_grant', 'upgrade:dave:grant2') ->> 'balance_after')::bigint,
  100::bigint, 'dave: the next grant clears the debt');
select is((public.record_usage('chat', 100, 'upgrade:dave:use2', 'd0000000-0000-4000-8000-000000000004') ->> 'balance_after')::bigint,
  0::bigint, 'dave: then he can spend what is left');
select is(
  (select jsonb_object_agg(e.key, e.value) from jsonb_each(
     public.get_token_balance('d0000000-0000-4000-8000-000000000004'))
   e where e.key in ('balance', 'debt')),
  '{"balance": 0, "debt": 0}'::jsonb, 'dave: nothing left, nothing owed');

-- carol: usage only before, opening balance 0.
select throws_ok(
  $$select public.record_usage('chat', 1, 'upgrade:carol:use1', 'c0000000-0000-4000-8000-000000000003')$$,
  'PT402', null, 'carol: her legacy usage left her nothing to spend');
select is((public.grant_tokens('c0000000-0000-4000-8000-000000000003', 10, 'trial_grant', 'upgrade:carol:grant') ->> 'balance_after')::bigint,
  10::bigint, 'carol: a grant starts from 0');

-- frank: at the INTEGER maximum; the ledger goes past it.
select is((public.grant_tokens('f0000000-0000-4000-8000-000000000006', 1, 'admin_grant', 'upgrade:frank:grant') ->> 'balance_after')::bigint,
  2147483648::bigint, 'frank: a grant takes him past the INTEGER maximum');
select is((public.record_usage('image_generation', 2147483648, 'upgrade:frank:use', 'f0000000-0000-4000-8000-000000000006') ->> 'balance_after')::bigint,
  0::bigint, 'frank: usage beyond the INTEGER range is recorded');

select tests.clear_authentication();
select is_empty('select * from public.verify_token_ledger()', 'verify_token_ledger() is still empty');
select is((select count(*)::int from public.token_transactions where is_legacy), 14, 'the legacy transactions are untouched');
select is((select count(*)::int from public.token_usage where not is_legacy), 3, 'the three new usage rows are not legacy');

select * from finish();
rollback;
