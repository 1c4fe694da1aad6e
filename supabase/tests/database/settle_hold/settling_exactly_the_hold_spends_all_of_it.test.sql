-- Settling exactly the hold: the whole hold is spent, nothing released, no overage.
begin;
select plan(8);

select tests.create_user('sh-at-alice@example.test', '00000000-0000-4000-b202-000000000001', 100);

select set_config('test.hold', tests.reserve_as('00000000-0000-4000-b202-000000000001', 40, 'sh-at-hold')::text, true);
select set_config('test.r', tests.settle_as('00000000-0000-4000-b202-000000000001', current_setting('test.hold')::uuid, 40)::text, true);

select is(tests.settle_outcome(current_setting('test.r')::jsonb),
  'tokens=40 before=100 after=60 released=0 overage=0 row_overage=0 debt=0',
  'all 40 held tokens were spent, none released, no overage');
select results_eq(
  $$select tokens, overage_tokens, hold_id::text, idempotency_key like 'hold:%'
      from public.token_usage where user_id = '00000000-0000-4000-b202-000000000001'$$,
  $$values (40::bigint, 0::bigint, current_setting('test.hold'), true)$$, 'one usage row of 40 for the hold');
select results_eq(
  $$select status, tokens_used, tokens_released from public.token_holds where id = current_setting('test.hold')::uuid$$,
  $$values ('settled'::text, 40::bigint, 0::bigint)$$, 'the hold is settled with nothing released');
select is(tests.balance_and_debt('00000000-0000-4000-b202-000000000001'), 'balance=60 debt=0', 'balance 60, no debt');
select is(public.get_token_balance('00000000-0000-4000-b202-000000000001') ->> 'held', '0', 'nothing held');
select is(public.get_token_balance('00000000-0000-4000-b202-000000000001') ->> 'available', '60', '60 available');
select is((select sum(remaining) from public.token_lots where user_id = '00000000-0000-4000-b202-000000000001'),
  60::numeric, 'the lots paid for it');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b202-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
