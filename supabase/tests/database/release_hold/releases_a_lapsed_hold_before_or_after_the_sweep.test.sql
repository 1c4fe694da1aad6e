-- A lapsed hold may be released, before or after the sweep marked it expired: it ends as
-- released (replayed false the first time), and nothing is written to the ledger.
begin;
select plan(5);

select tests.create_user('rh-lapsed-alice@example.test', '00000000-0000-4000-b302-000000000001', 100);

select set_config('test.h1', tests.reserve_as('00000000-0000-4000-b302-000000000001', 40, 'h1')::text, true);
select set_config('test.h2', tests.reserve_as('00000000-0000-4000-b302-000000000001', 30, 'h2')::text, true);
select tests.lapse_hold(current_setting('test.h1')::uuid);
select tests.lapse_hold(current_setting('test.h2')::uuid, p_swept => true);

select tests.authenticate_as('00000000-0000-4000-b302-000000000001');
select is(public.release_hold(current_setting('test.h1')::uuid) - 'hold_id',
  '{"user_id":"00000000-0000-4000-b302-000000000001","status":"released","released":40,"available_after":100,"replayed":false}'::jsonb,
  'a lapsed, unswept hold is released');
select is(public.release_hold(current_setting('test.h2')::uuid) - 'hold_id',
  '{"user_id":"00000000-0000-4000-b302-000000000001","status":"released","released":30,"available_after":100,"replayed":false}'::jsonb,
  'an expired (swept) hold is released');
select is(public.release_hold(current_setting('test.h2')::uuid) -> 'replayed', 'true'::jsonb, 'and releasing it again is a replay');
select tests.clear_authentication();
select results_eq(
  $$select idempotency_key, status from public.token_holds where user_id = '00000000-0000-4000-b302-000000000001' order by 1$$,
  $$values ('h1'::text, 'released'::text), ('h2'::text, 'released'::text)$$, 'both holds end released');
select is(
  (select count(*)::int from public.token_usage where user_id = '00000000-0000-4000-b302-000000000001'), 0, 'no usage was written');

select * from finish();
rollback;
