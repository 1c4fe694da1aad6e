-- release_hold frees a hold: all its tokens are available again, the hold is closed as
-- released, and nothing is written to the ledger.
begin;
select plan(9);

select tests.create_user('rh-happy-alice@example.test', '00000000-0000-4000-b301-000000000001', 100);

select tests.authenticate_as('00000000-0000-4000-b301-000000000001');
select set_config('test.h', public.reserve_tokens('chat', 40, 'h') ->> 'hold_id', true);
select public.reserve_tokens('chat', 25, 'other');
select set_config('test.r', public.release_hold(current_setting('test.h')::uuid)::text, true);
select tests.clear_authentication();

select is(current_setting('test.r')::jsonb,
  jsonb_build_object('hold_id', current_setting('test.h'), 'user_id', '00000000-0000-4000-b301-000000000001',
                     'status', 'released', 'released', 40, 'available_after', 75, 'replayed', false),
  'the result: the hold, released, its 40 tokens back, 75 available (another hold keeps 25)');
select results_eq(
  $$select status, tokens_released, tokens_used, usage_id, closed_at = now()
      from public.token_holds where id = current_setting('test.h')::uuid$$,
  $$values ('released'::text, 40::bigint, 0::bigint, null::uuid, true)$$,
  'the hold is closed as released, nothing used');
select is(public.get_token_balance('00000000-0000-4000-b301-000000000001') ->> 'held', '25', 'only the other hold counts');
select is(public.get_token_balance('00000000-0000-4000-b301-000000000001') ->> 'available', '75', '75 are available');
select is((select count(*)::int from public.token_usage where user_id = '00000000-0000-4000-b301-000000000001'), 0, 'no usage');
select is((select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-b301-000000000001'), 1,
  'no transaction besides the grant');
select is(tests.balance_and_debt('00000000-0000-4000-b301-000000000001'), 'balance=100 debt=0', 'the balance is unchanged');

select tests.authenticate_as('00000000-0000-4000-b301-000000000001');
select is((public.reserve_tokens('chat', 75, 'again') ->> 'available_after')::bigint, 0::bigint, 'the released tokens can be held again');
select tests.clear_authentication();
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b301-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
