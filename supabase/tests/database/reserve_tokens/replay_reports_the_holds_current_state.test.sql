-- A replayed reservation reports the hold's real state now, not "held" for a hold that no
-- longer counts: a hold past its expires_at is "expired" even before the token-holds job
-- sweeps it; a swept one is "expired"; a settled one "settled"; a released one "released";
-- an active one "held". Everything else in the result is the first result.
-- (A lapsed hold is simulated by moving its expires_at back: holds are state, not ledger.)
begin;
select plan(6);

select tests.create_user('rt-replay-state-alice@example.test', '00000000-0000-4000-c904-000000000001');
select public.grant_tokens('00000000-0000-4000-c904-000000000001', 1000, 'admin_grant', 'c904-grant');

select tests.authenticate_as('00000000-0000-4000-c904-000000000001');
select set_config('test.lapsed', public.reserve_tokens('chat', 10, 'c904-lapsed')::text, true);
select set_config('test.swept', public.reserve_tokens('chat', 10, 'c904-swept')::text, true);
select set_config('test.settled', public.reserve_tokens('chat', 10, 'c904-settled')::text, true);
select set_config('test.released', public.reserve_tokens('chat', 10, 'c904-released')::text, true);
select set_config('test.active', public.reserve_tokens('chat', 10, 'c904-active')::text, true);
select public.settle_hold((current_setting('test.settled')::jsonb ->> 'hold_id')::uuid, 5);
select public.release_hold((current_setting('test.released')::jsonb ->> 'hold_id')::uuid);
select tests.clear_authentication();
update public.token_holds set expires_at = now() - interval '1 second'
 where id in ((current_setting('test.lapsed')::jsonb ->> 'hold_id')::uuid, (current_setting('test.swept')::jsonb ->> 'hold_id')::uuid);
update public.token_holds set status = 'expired', tokens_released = tokens_held, closed_at = now()
 where id = (current_setting('test.swept')::jsonb ->> 'hold_id')::uuid; -- what expire_holds does

create function pg_temp.replay(p_key text) returns jsonb language sql as $f$
  select public.reserve_tokens('chat', 10, p_key)
$f$;
select tests.authenticate_as('00000000-0000-4000-c904-000000000001');
select is(pg_temp.replay('c904-lapsed') ->> 'status', 'expired', 'a lapsed hold not yet swept replays as expired, not held');
select is(pg_temp.replay('c904-swept') ->> 'status', 'expired', 'a swept hold replays as expired');
select is(pg_temp.replay('c904-settled') ->> 'status', 'settled', 'a settled hold replays as settled');
select is(pg_temp.replay('c904-released') ->> 'status', 'released', 'a released hold replays as released');
select is(pg_temp.replay('c904-active') ->> 'status', 'held', 'an active hold replays as held');
select is(pg_temp.replay('c904-settled') - 'status' - 'replayed', current_setting('test.settled')::jsonb - 'status' - 'replayed',
  'the rest of a replay is the first result (hold, tokens, expiry, available_after)');
select tests.clear_authentication();

select * from finish();
rollback;
