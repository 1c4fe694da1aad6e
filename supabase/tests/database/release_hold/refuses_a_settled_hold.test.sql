-- A settled hold cannot be released (22023): its usage stands, and the refusal writes nothing.
begin;
select plan(6);

select tests.create_user('rh-settled-alice@example.test', '00000000-0000-4000-b303-000000000001', 100);

select tests.authenticate_as('00000000-0000-4000-b303-000000000001');
select set_config('test.h', public.reserve_tokens('chat', 40, 'h') ->> 'hold_id', true);
select set_config('test.s', public.settle_hold(current_setting('test.h')::uuid, 25)::text, true);
select throws_ok($$select public.release_hold(current_setting('test.h')::uuid)$$, '22023',
  'This hold was settled; a settled hold cannot be released.', 'a settled hold cannot be released');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select throws_ok($$select public.release_hold(current_setting('test.h')::uuid)$$, '22023', null, 'not by the service either');
select tests.clear_authentication();

select results_eq(
  $$select status, tokens_used, tokens_released, usage_id::text from public.token_holds where id = current_setting('test.h')::uuid$$,
  $$values ('settled'::text, 25::bigint, 15::bigint, current_setting('test.s')::jsonb ->> 'usage_id')$$,
  'the hold is still settled with its usage');
select is((select count(*)::int from public.token_usage where user_id = '00000000-0000-4000-b303-000000000001'), 1,
  'the usage row stands');
select is(tests.balance_and_debt('00000000-0000-4000-b303-000000000001'), 'balance=75 debt=0', 'the balance keeps the settle');

-- a zero settle is a settle too
select tests.authenticate_as('00000000-0000-4000-b303-000000000001');
select set_config('test.h0', public.reserve_tokens('chat', 5, 'h0') ->> 'hold_id', true);
select public.settle_hold(current_setting('test.h0')::uuid, 0);
select throws_ok($$select public.release_hold(current_setting('test.h0')::uuid)$$, '22023', null,
  'a hold settled with zero tokens cannot be released either');
select tests.clear_authentication();

select * from finish();
rollback;
