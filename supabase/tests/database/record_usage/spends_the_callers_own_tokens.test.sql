-- record_usage, happy path: a signed-in user spends its own tokens. The returned JSON, the
-- usage row, the balance and the lot all show the spend, and the ledger stays consistent.
begin;
select plan(18);

select tests.create_user('ru-happy-alice@example.test', '00000000-0000-4000-8101-000000000001', 100);

select tests.authenticate_as('00000000-0000-4000-8101-000000000001');
select set_config('test.r1', public.record_usage('chat', 30, 'ru-happy-1', null, 'model-x', '{"conversation":"c1"}')::text, true);
select tests.clear_authentication();

select is(current_setting('test.r1')::jsonb ->> 'user_id', '00000000-0000-4000-8101-000000000001', 'the result names the caller');
select is((current_setting('test.r1')::jsonb ->> 'tokens')::bigint, 30::bigint, 'the result carries the tokens spent');
select is((current_setting('test.r1')::jsonb ->> 'balance_before')::bigint, 100::bigint, 'balance_before is the balance before the spend');
select is((current_setting('test.r1')::jsonb ->> 'balance_after')::bigint, 70::bigint, 'balance_after is the balance after the spend');
select is(current_setting('test.r1')::jsonb -> 'replayed', 'false'::jsonb, 'a first use is not a replay');
select is(
  (select array_agg(k order by k) from jsonb_object_keys(current_setting('test.r1')::jsonb) k),
  array['balance_after', 'balance_before', 'replayed', 'tokens', 'usage_id', 'user_id'],
  'the result has exactly the documented keys');

select results_eq(
  $$select id, feature, tokens, model, metadata, idempotency_key, balance_before, balance_after, is_legacy
      from public.token_usage where user_id = '00000000-0000-4000-8101-000000000001'$$,
  $$values ((current_setting('test.r1')::jsonb ->> 'usage_id')::uuid, 'chat'::text, 30::bigint, 'model-x'::text,
            '{"conversation":"c1"}'::jsonb, 'ru-happy-1'::text, 100::bigint, 70::bigint, false)$$,
  'one usage row, with the id, feature, model, metadata, key and balances of the call');
select is(tests.balance_and_debt('00000000-0000-4000-8101-000000000001'), 'balance=70 debt=0',
  'the stored balance went down by the tokens spent');
select results_eq(
  $$select original, remaining from public.token_lots where user_id = '00000000-0000-4000-8101-000000000001'$$,
  $$values (100::bigint, 70::bigint)$$,
  'the tokens came out of the lot');
select is(
  (select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-8101-000000000001'),
  1, 'usage writes no transaction');

-- The user may also name itself; spending the whole balance is allowed; null metadata is {}.
select tests.authenticate_as('00000000-0000-4000-8101-000000000001');
select set_config('test.r2', public.record_usage('vision_generation', 10, 'ru-happy-2', '00000000-0000-4000-8101-000000000001')::text, true);
select set_config('test.r3', public.record_usage('chat', 60, 'ru-happy-3', null, null, null)::text, true);
select tests.clear_authentication();

select is((current_setting('test.r2')::jsonb ->> 'balance_before')::bigint, 70::bigint, 'a second spend starts from the first one''s balance_after');
select is((current_setting('test.r2')::jsonb ->> 'balance_after')::bigint, 60::bigint, 'naming one''s own id works like passing null');
select is((current_setting('test.r3')::jsonb ->> 'balance_after')::bigint, 0::bigint, 'the whole balance may be spent');
select results_eq(
  $$select model, metadata from public.token_usage where idempotency_key = 'ru-happy-3'
      and user_id = '00000000-0000-4000-8101-000000000001'$$,
  $$values (null::text, '{}'::jsonb)$$,
  'null model stays null, null metadata is stored as {}');
select is(tests.ledger_footprint('00000000-0000-4000-8101-000000000001'), 'balance=0 lots=1 remaining=0 transactions=1 usage=3 used=100',
  'the stored balance is zero, the lot is empty, three usage rows');
select is(
  (select sum(balance_before - balance_after)::bigint from public.token_usage where user_id = '00000000-0000-4000-8101-000000000001'),
  100::bigint, 'the usage rows account for every token spent');
select is(
  public.get_token_balance('00000000-0000-4000-8101-000000000001') ->> 'balance', '0',
  'get_token_balance agrees');
select is_empty(
  $$select * from public.verify_token_ledger('00000000-0000-4000-8101-000000000001')$$,
  'the ledger is consistent');

select * from finish();
rollback;
