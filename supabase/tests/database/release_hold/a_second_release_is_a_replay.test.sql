-- Releasing a hold twice: the second call is a replay (replayed:true, same hold, released
-- tokens) and writes nothing, whoever retries.
begin;
select plan(6);

select tests.create_user('rh-replay-alice@example.test', '00000000-0000-4000-b304-000000000001', 100);

select tests.authenticate_as('00000000-0000-4000-b304-000000000001');
select set_config('test.h', public.reserve_tokens('chat', 40, 'h') ->> 'hold_id', true);
select set_config('test.first', public.release_hold(current_setting('test.h')::uuid)::text, true);
select set_config('test.closed', (select closed_at::text from public.token_holds where id = current_setting('test.h')::uuid), true);
select set_config('test.again', public.release_hold(current_setting('test.h')::uuid)::text, true);
select tests.clear_authentication();

select is(current_setting('test.again')::jsonb -> 'replayed', 'true'::jsonb, 'releasing again is a replay');
select is(current_setting('test.again')::jsonb - 'replayed', current_setting('test.first')::jsonb - 'replayed',
  'it returns what the first release returned');
select tests.authenticate_as_service_role();
select is(public.release_hold(current_setting('test.h')::uuid) - 'replayed', current_setting('test.first')::jsonb - 'replayed',
  'the service retrying the release replays it');
select tests.clear_authentication();
select results_eq(
  $$select status, tokens_released, tokens_used, closed_at::text from public.token_holds where id = current_setting('test.h')::uuid$$,
  $$values ('released'::text, 40::bigint, 0::bigint, current_setting('test.closed'))$$, 'the replays changed nothing on the hold');
select is(tests.balance_and_debt('00000000-0000-4000-b304-000000000001'), 'balance=100 debt=0', 'nor on the balance');
select is((select count(*)::int from public.token_usage where user_id = '00000000-0000-4000-b304-000000000001'), 0, 'no usage');

select * from finish();
rollback;
