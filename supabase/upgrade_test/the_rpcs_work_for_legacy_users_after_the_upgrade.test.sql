-- After the upgrade the RPCs work for legacy users, called as the service the way PostgREST
-- calls them: balances continue from the opening balance, debt is repaid first, amounts go
-- past the INTEGER range, and the ledger still verifies.
begin;
select plan(18);

select tests.authenticate_as_service_role();

-- erin: 20000 carried over, no drip tokens among them.
select is(
  (select jsonb_object_agg(e.key, e.value) from jsonb_each(
     public.grant_tokens('e0000000-0000-4000-8000-000000000005', 1000, 'admin_grant', 'upgrade:erin:grant'))
   e where e.key in ('token_amount', 'balance_before', 'balance_after', 'replayed')),
  '{"token_amount": 1000, "balance_before": 20000, "balance_after": 21000, "replayed": false}'::jsonb,
  'erin: a grant continues from her opening balance');
select is(
  (select jsonb_object_agg(e.key, e.value) from jsonb_each(
     public.record_usage('chat', 345, 'upgrade:erin:use', 'e0000000-0000-4000-8000-000000000005'))
   e where e.key in ('tokens', 'balance_before', 'balance_after', 'replayed')),
  '{"tokens": 345, "balance_before": 21000, "balance_after": 20655, "replayed": false}'::jsonb,
  'erin: usage continues from there');
select is((public.record_usage('chat', 345, 'upgrade:erin:use', 'e0000000-0000-4000-8000-000000000005') ->> 'replayed')::boolean,
  true, 'erin: the same usage again is a replay');
select is((public.get_token_balance('e0000000-0000-4000-8000-000000000005') ->> 'balance')::bigint, 20655::bigint,
  'erin: balance 20655');
select results_eq(
  $$select source, remaining from public.token_lots where user_id = 'e0000000-0000-4000-8000-000000000005' order by created_at$$,
  $$values ('opening_balance', 19655::bigint), ('admin_grant', 1000::bigint)$$,
  'erin: usage burned the older opening-balance lot first');

-- alice: 512345 carried over, all of it drip tokens whose time ran out in 2025.
select is(
  (select jsonb_object_agg(e.key, e.value) from jsonb_each(
     public.grant_tokens('a0000000-0000-4000-8000-000000000001', 1000, 'admin_grant', 'upgrade:alice:grant'))
   e where e.key in ('token_amount', 'balance_before', 'balance_after')),
  '{"token_amount": 1000, "balance_before": 0, "balance_after": 1000}'::jsonb,
  'alice: her lapsed drip tokens expire before a grant, which starts from 0');

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
select is((select count(*)::int from public.token_transactions where is_legacy), 16, 'the legacy transactions are untouched');
select is((select count(*)::int from public.token_usage where not is_legacy), 3, 'the three new usage rows are not legacy');

select * from finish();
rollback;
