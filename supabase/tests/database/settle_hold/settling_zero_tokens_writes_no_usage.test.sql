-- Settling zero tokens (the call produced nothing): no usage row (the ledger has no 0-token
-- rows), the whole hold released, the hold closed as settled; for a lapsed hold too, even
-- when nothing is available.
begin;
select plan(10);

select tests.create_user('sh-zero-alice@example.test', '00000000-0000-4000-b203-000000000001', 100);

select set_config('test.hold', tests.reserve_as('00000000-0000-4000-b203-000000000001', 40, 'sh-zero-hold')::text, true);
select set_config('test.r', tests.settle_as('00000000-0000-4000-b203-000000000001', current_setting('test.hold')::uuid, 0)::text, true);

select is(current_setting('test.r')::jsonb - 'hold_id',
  '{"usage_id":null,"user_id":"00000000-0000-4000-b203-000000000001","tokens":0,"balance_before":100,"balance_after":100,
    "released":40,"overage_tokens":0,"replayed":false}'::jsonb,
  'nothing spent, everything released, no usage id');
select is((select count(*)::int from public.token_usage where user_id = '00000000-0000-4000-b203-000000000001'), 0,
  'no usage row');
select results_eq(
  $$select status, usage_id, tokens_used, tokens_released, closed_at is not null
      from public.token_holds where id = current_setting('test.hold')::uuid$$,
  $$values ('settled'::text, null::uuid, 0::bigint, 40::bigint, true)$$, 'the hold is settled with everything released');
select is(tests.balance_and_debt('00000000-0000-4000-b203-000000000001'), 'balance=100 debt=0', 'the balance is unchanged');
select is(public.get_token_balance('00000000-0000-4000-b203-000000000001') ->> 'available', '100', 'everything is available again');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b203-000000000001')$$, 'the ledger is consistent');

-- a lapsed hold settles zero tokens even when nothing is available (here: the user is in debt)
select set_config('test.lapsed', tests.reserve_as('00000000-0000-4000-b203-000000000001', 30, 'sh-zero-lapsed')::text, true);
select tests.lapse_hold(current_setting('test.lapsed')::uuid);
select tests.authenticate_as('00000000-0000-4000-b203-000000000001');
select public.settle_hold((public.reserve_tokens('chat', 100, 'sh-zero-all') ->> 'hold_id')::uuid, 120);
select is(public.get_token_balance() ->> 'debt', '20', 'the user is 20 tokens in debt');
select is(public.settle_hold(current_setting('test.lapsed')::uuid, 0) - 'hold_id' - 'balance_before' - 'balance_after',
  '{"usage_id":null,"user_id":"00000000-0000-4000-b203-000000000001","tokens":0,"released":30,"overage_tokens":0,"replayed":false}'::jsonb,
  'the lapsed hold still settles zero tokens: they spend nothing');
select throws_ok($$select public.settle_hold((public.reserve_tokens('chat', 1, 'sh-zero-none') ->> 'hold_id')::uuid, 0)$$, 'PT402', null,
  '(a new hold cannot even be reserved)');
select tests.clear_authentication();
select is((select status from public.token_holds where id = current_setting('test.lapsed')::uuid), 'settled', 'it is closed');

select * from finish();
rollback;
