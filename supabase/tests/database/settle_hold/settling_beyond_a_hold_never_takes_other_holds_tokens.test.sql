-- Settling beyond a hold never eats the tokens of the user's other active holds: the free
-- balance is what no active hold covers, the overage goes straight to debt, and the other
-- hold still has its tokens in the lots when it settles. The overage of every settle adds up
-- to the debt the settles created.
begin;
select plan(12);

select tests.create_user('sh-others-carol@example.test', '00000000-0000-4000-b205-000000000001', 100);

-- hold A 30 and hold B 40 of 100: 30 free
select tests.authenticate_as('00000000-0000-4000-b205-000000000001');
select set_config('test.a', public.reserve_tokens('chat', 30, 'sh-others-a') ->> 'hold_id', true);
select set_config('test.b', public.reserve_tokens('chat', 40, 'sh-others-b') ->> 'hold_id', true);
-- A uses 70: 30 from its hold, 30 free, 10 overage
select set_config('test.ra', public.settle_hold(current_setting('test.a')::uuid, 70)::text, true);
select tests.clear_authentication();

select is((current_setting('test.ra')::jsonb ->> 'overage_tokens')::bigint, 10::bigint,
  'the overage is what hold A and the free 30 do not cover (B''s 40 are not free)');
select is((current_setting('test.ra')::jsonb ->> 'balance_after')::bigint, 30::bigint, 'balance 100 - 70 = 30');
select is(tests.balance_and_debt('00000000-0000-4000-b205-000000000001'), 'balance=30 debt=10', 'the overage became debt at once');
select is((select sum(remaining) from public.token_lots where user_id = '00000000-0000-4000-b205-000000000001'),
  40::numeric, 'the lots still hold hold B''s 40 tokens');
select is(public.get_token_balance('00000000-0000-4000-b205-000000000001') - 'lots' - 'next_expiry' - 'next_drip_at',
  '{"user_id":"00000000-0000-4000-b205-000000000001","balance":30,"debt":10,"held":40,"available":0}'::jsonb,
  'get_token_balance: 40 held, 10 short, available reported as 0');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b205-000000000001')$$, 'the ledger is consistent');

-- B settles its 40: covered by its hold, no overage, no new debt
select set_config('test.rb', tests.settle_as('00000000-0000-4000-b205-000000000001', current_setting('test.b')::uuid, 40)::text, true);
select is((current_setting('test.rb')::jsonb ->> 'overage_tokens')::bigint, 0::bigint, 'hold B covered its own 40');
select is(tests.balance_and_debt('00000000-0000-4000-b205-000000000001'), 'balance=-10 debt=10', 'balance -10, the debt is still the 10 of A''s overage');
select is((select sum(remaining) from public.token_lots where user_id = '00000000-0000-4000-b205-000000000001'),
  0::numeric, 'B was paid from the lots');
select is(
  (select sum(overage_tokens) from public.token_usage where user_id = '00000000-0000-4000-b205-000000000001'),
  (select debt::numeric from public.token_balances where user_id = '00000000-0000-4000-b205-000000000001'),
  'the overage of the settles adds up to the debt');
select results_eq(
  $$select tokens, overage_tokens from public.token_usage where user_id = '00000000-0000-4000-b205-000000000001' order by tokens$$,
  $$values (40::bigint, 0::bigint), (70::bigint, 10::bigint)$$, 'two usage rows, one per hold');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b205-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
