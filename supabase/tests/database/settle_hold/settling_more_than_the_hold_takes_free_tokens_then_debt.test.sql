-- Settling more than the hold: the work has happened, so the settle never fails for lack of
-- tokens. The extra comes first from the free balance (no overage); what the hold and the free
-- balance cannot cover becomes debt, and the usage row says how much (overage_tokens).
begin;
select plan(18);

select tests.create_user('sh-above-alice@example.test', '00000000-0000-4000-b204-000000000001', 100);
select tests.create_user('sh-above-bob@example.test', '00000000-0000-4000-b204-000000000002', 100);

-- alice: hold 40, use 70: the 30 beyond the hold come from her free 60
select set_config('test.ha', tests.reserve_as('00000000-0000-4000-b204-000000000001', 40, 'sh-above-a')::text, true);
select set_config('test.ra', tests.settle_as('00000000-0000-4000-b204-000000000001', current_setting('test.ha')::uuid, 70)::text, true);
select is(tests.settle_outcome(current_setting('test.ra')::jsonb),
  'tokens=70 before=100 after=30 released=0 overage=0 row_overage=0 debt=0',
  'beyond the hold but within the free balance: all 70 spent, no overage, her usage row has none');
select is(tests.balance_and_debt('00000000-0000-4000-b204-000000000001'), 'balance=30 debt=0', 'alice has 30 left and no debt');

-- bob: hold 40, use 130: 100 from his tokens, 30 become debt
select set_config('test.hb', tests.reserve_as('00000000-0000-4000-b204-000000000002', 40, 'sh-above-b')::text, true);
select set_config('test.rb', tests.settle_as('00000000-0000-4000-b204-000000000002', current_setting('test.hb')::uuid, 130, 'model-x')::text, true);
select is((current_setting('test.rb')::jsonb ->> 'tokens')::bigint, 130::bigint, 'all 130 measured tokens were recorded');
select is((current_setting('test.rb')::jsonb ->> 'overage_tokens')::bigint, 30::bigint,
  'the 30 beyond the hold and the free balance are the overage');
select is((current_setting('test.rb')::jsonb ->> 'balance_before')::bigint, 100::bigint, 'balance_before 100');
select is((current_setting('test.rb')::jsonb ->> 'balance_after')::bigint, -30::bigint, 'balance_after -30');
select is((current_setting('test.rb')::jsonb ->> 'released')::bigint, 0::bigint, 'nothing released');
select results_eq(
  $$select tokens, overage_tokens, balance_before, balance_after, hold_id::text
      from public.token_usage where user_id = '00000000-0000-4000-b204-000000000002'$$,
  $$values (130::bigint, 30::bigint, 100::bigint, -30::bigint, current_setting('test.hb'))$$,
  'one usage row of 130 with overage_tokens 30');
select is(tests.balance_and_debt('00000000-0000-4000-b204-000000000002'), 'balance=-30 debt=30', 'token_balances: balance -30, debt 30');
select is((select sum(remaining) from public.token_lots where user_id = '00000000-0000-4000-b204-000000000002'),
  0::numeric, 'his lots are empty');
select is(public.get_token_balance('00000000-0000-4000-b204-000000000002') - 'lots' - 'next_expiry' - 'next_drip_at',
  '{"user_id":"00000000-0000-4000-b204-000000000002","balance":-30,"debt":30,"held":0,"available":0}'::jsonb,
  'get_token_balance reports the debt');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b204-000000000002')$$,
  'the ledger explains the negative balance');
select results_eq(
  $$select status, tokens_used, tokens_released from public.token_holds where id = current_setting('test.hb')::uuid$$,
  $$values ('settled'::text, 130::bigint, 0::bigint)$$, 'the hold is settled');

-- in debt, bob can neither reserve nor record usage
select tests.authenticate_as('00000000-0000-4000-b204-000000000002');
select throws_ok($$select public.reserve_tokens('chat', 1, 'sh-above-b2')$$, 'PT402', null, 'a user in debt cannot reserve');
select throws_ok($$select public.record_usage('chat', 1, 'sh-above-b3')$$, 'PT402', null, 'nor record usage');
select tests.clear_authentication();

-- the next credit repays the debt first
select public.grant_tokens('00000000-0000-4000-b204-000000000002', 50, 'admin_grant', 'sh-above-grant-b2');
select is(tests.balance_and_debt('00000000-0000-4000-b204-000000000002'), 'balance=20 debt=0', 'a grant of 50 repays the 30 of debt, 20 are left');
select is((select sum(remaining) from public.token_lots where user_id = '00000000-0000-4000-b204-000000000002'),
  20::numeric, 'and only 20 went into a lot');
select is_empty($$select * from public.verify_token_ledger()$$, 'the whole ledger is consistent');

select * from finish();
rollback;
