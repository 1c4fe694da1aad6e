-- Settling less than the hold: one token_usage row for the measured tokens (pointing at the
-- hold, no overage), the rest of the hold released, the hold closed as settled.
begin;
select plan(17);

select tests.create_user('sh-below-alice@example.test', '00000000-0000-4000-b201-000000000001', 100);

select set_config('test.hold', tests.reserve_as('00000000-0000-4000-b201-000000000001', 40, 'sh-below-hold')::text, true);
select set_config('test.r', tests.settle_as('00000000-0000-4000-b201-000000000001', current_setting('test.hold')::uuid, 25, 'model-x', '{"stream":true}')::text, true);

select is(current_setting('test.r')::jsonb ->> 'hold_id', current_setting('test.hold'), 'the result names the hold');
select is(current_setting('test.r')::jsonb ->> 'user_id', '00000000-0000-4000-b201-000000000001', 'and its user');
select is((current_setting('test.r')::jsonb ->> 'tokens')::bigint, 25::bigint, 'the measured tokens were spent');
select is((current_setting('test.r')::jsonb ->> 'balance_before')::bigint, 100::bigint, 'balance_before');
select is((current_setting('test.r')::jsonb ->> 'balance_after')::bigint, 75::bigint, 'balance_after');
select is((current_setting('test.r')::jsonb ->> 'released')::bigint, 15::bigint, 'the unused 15 were released');
select is((current_setting('test.r')::jsonb ->> 'overage_tokens')::bigint, 0::bigint, 'no overage');
select is(current_setting('test.r')::jsonb -> 'replayed', 'false'::jsonb, 'a first settle is not a replay');
select results_eq(
  $$select array_agg(k order by k) from jsonb_object_keys(current_setting('test.r')::jsonb) k$$,
  $$values (array['balance_after', 'balance_before', 'hold_id', 'overage_tokens', 'released', 'replayed', 'tokens', 'usage_id', 'user_id'])$$,
  'the result has exactly the documented fields');

select results_eq(
  $$select u.id::text, u.user_id::text, u.feature, u.tokens, u.model, u.metadata, u.balance_before, u.balance_after,
           u.hold_id::text, u.overage_tokens, u.is_legacy
      from public.token_usage u where u.user_id = '00000000-0000-4000-b201-000000000001'$$,
  $$values (current_setting('test.r')::jsonb ->> 'usage_id', '00000000-0000-4000-b201-000000000001'::text, 'chat'::text,
            25::bigint, 'model-x'::text, '{"stream":true}'::jsonb, 100::bigint, 75::bigint,
            current_setting('test.hold'), 0::bigint, false)$$,
  'one usage row: the hold''s feature, the measured tokens, model and metadata, pointing at the hold');
select results_eq(
  $$select h.status, h.usage_id::text, h.tokens_used, h.tokens_released, h.closed_at = now()
      from public.token_holds h where h.id = current_setting('test.hold')::uuid$$,
  $$values ('settled'::text, current_setting('test.r')::jsonb ->> 'usage_id', 25::bigint, 15::bigint, true)$$,
  'the hold is settled, points at its usage and says what it used and released');
select is(tests.balance_and_debt('00000000-0000-4000-b201-000000000001'), 'balance=75 debt=0', 'the balance went down by the measured tokens only, no debt');
select is((select sum(remaining) from public.token_lots where user_id = '00000000-0000-4000-b201-000000000001'),
  75::numeric, 'the lots paid for it');
select is(public.get_token_balance('00000000-0000-4000-b201-000000000001') ->> 'held', '0', 'nothing is held any more');
select is(public.get_token_balance('00000000-0000-4000-b201-000000000001') ->> 'available', '75', 'the released tokens are available');
select is((select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-b201-000000000001'),
  1, 'a settle writes usage, not a transaction');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b201-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
