-- A hold stops counting at its expires_at, before the sweep marks it expired: the balance,
-- reservations and usage see the tokens as available again at once, and the sweep then only
-- changes the hold's status.
begin;
select plan(8);
-- `supabase test db` runs on the dev database, which may hold lapsed holds of its own: sweep
-- every hold that could lapse within the times used below first, so the counts are this file's.
select public.expire_holds(now() + interval '1 day');

select tests.create_user('eh-before-alice@example.test', '00000000-0000-4000-b402-000000000001', 100);

select tests.authenticate_as('00000000-0000-4000-b402-000000000001');
select set_config('test.h', public.reserve_tokens('chat', 60, 'h') ->> 'hold_id', true);
select is(public.get_token_balance() ->> 'available', '40', 'while the hold is active 40 are available');
select throws_ok($$select public.record_usage('chat', 41, 'u0')$$, 'PT402', null, 'and usage cannot go beyond them');
select tests.clear_authentication();

select tests.lapse_hold(current_setting('test.h')::uuid);
select is((select status from public.token_holds where id = current_setting('test.h')::uuid), 'held', 'the lapsed hold is still marked held');

select tests.authenticate_as('00000000-0000-4000-b402-000000000001');
select is(public.get_token_balance() - 'lots' - 'next_expiry' - 'next_drip_at',
  '{"user_id":"00000000-0000-4000-b402-000000000001","balance":100,"debt":0,"held":0,"available":100}'::jsonb,
  'but get_token_balance no longer counts it');
select is(public.record_usage('chat', 70, 'u1') ->> 'balance_after', '30', 'usage may spend its tokens');
select is(public.reserve_tokens('chat', 30, 'h2') ->> 'available_after', '0', 'and so may a new hold');
select tests.clear_authentication();

select is(public.expire_holds(now()) ->> 'holds_expired', '1', 'the sweep then marks it');
select is(public.get_token_balance('00000000-0000-4000-b402-000000000001') - 'lots' - 'next_expiry' - 'next_drip_at',
  '{"user_id":"00000000-0000-4000-b402-000000000001","balance":30,"debt":0,"held":30,"available":0}'::jsonb,
  'and the balance view does not change: only the new hold counts');

select * from finish();
rollback;
