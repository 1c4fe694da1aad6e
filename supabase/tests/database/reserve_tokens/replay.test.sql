-- reserve_tokens is idempotent per user and key: the same request again returns the first
-- hold with replayed:true and holds nothing more; the key with a different request (feature,
-- tokens or TTL) is PT409; another user's identical key is a hold of its own.
begin;
select plan(20);

create function pg_temp.footprint(p_user uuid) returns text language sql as $f$
  select format('holds=%s held=%s balance=%s usage=%s',
    (select count(*) from public.token_holds h where h.user_id = p_user),
    (select coalesce(sum(h.tokens_held), 0) from public.token_holds h
      where h.user_id = p_user and h.status = 'held' and h.expires_at > now()),
    (select b.balance from public.token_balances b where b.user_id = p_user),
    (select count(*) from public.token_usage u where u.user_id = p_user))
$f$;

insert into auth.users (id, email) values
  ('00000000-0000-4000-b105-000000000001', 'rt-replay-alice@example.test'),
  ('00000000-0000-4000-b105-000000000002', 'rt-replay-bob@example.test');
select public.grant_tokens('00000000-0000-4000-b105-000000000001', 100, 'admin_grant', 'rt-replay-a');
select public.grant_tokens('00000000-0000-4000-b105-000000000002', 100, 'admin_grant', 'rt-replay-b');

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b105-000000000001","role":"authenticated"}', true);
select set_config('test.first', public.reserve_tokens('chat', 30, 'rt-replay-k1', null, 120)::text, true);
select set_config('test.again', public.reserve_tokens('chat', 30, 'rt-replay-k1', null, 120)::text, true);
reset role;

select is(current_setting('test.again')::jsonb -> 'replayed', 'true'::jsonb, 'the same request again is a replay');
select is(current_setting('test.again')::jsonb - 'replayed', current_setting('test.first')::jsonb - 'replayed',
  'a replay returns the first hold (id, tokens, expiry, available_after, status)');
select is(pg_temp.footprint('00000000-0000-4000-b105-000000000001'), 'holds=1 held=30 balance=100 usage=0',
  'a replay holds nothing more');

-- the same request in other spellings, and from the service
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b105-000000000001","role":"authenticated"}', true);
select is(public.reserve_tokens('chat', 30, 'rt-replay-k1', '00000000-0000-4000-b105-000000000001', 120) - 'replayed',
  current_setting('test.first')::jsonb - 'replayed', 'naming one''s own id replays the request made with p_user_id null');
select public.reserve_tokens('chat', 5, 'rt-replay-k2');
select is(public.reserve_tokens('chat', 5, 'rt-replay-k2', null, 600) -> 'replayed', 'true'::jsonb,
  'the default TTL spelled out is the same request');
reset role;
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(public.reserve_tokens('chat', 30, 'rt-replay-k1', '00000000-0000-4000-b105-000000000001', 120) - 'replayed',
  current_setting('test.first')::jsonb - 'replayed', 'the service retrying the user''s request replays it');
reset role;

-- a replay does not need the tokens any more
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b105-000000000001","role":"authenticated"}', true);
select public.reserve_tokens('chat', 65, 'rt-replay-rest');
select is(public.reserve_tokens('chat', 30, 'rt-replay-k1', null, 120) - 'replayed',
  current_setting('test.first')::jsonb - 'replayed', 'a replay with nothing left available still returns the first hold');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-b105-000000000001'), 'holds=3 held=100 balance=100 usage=0',
  'the replays held nothing more');

-- the key with a different request: PT409, nothing written
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b105-000000000001","role":"authenticated"}', true);
select throws_ok($$select public.reserve_tokens('chat', 31, 'rt-replay-k1', null, 120)$$,
  'PT409', 'This idempotency key was already used for a different request.', 'the key with other tokens is PT409');
select throws_ok($$select public.reserve_tokens('vision_generation', 30, 'rt-replay-k1', null, 120)$$,
  'PT409', null, 'the key with another feature is PT409');
select throws_ok($$select public.reserve_tokens('chat', 30, 'rt-replay-k1', null, 121)$$,
  'PT409', null, 'the key with another TTL is PT409');
select throws_ok($$select public.reserve_tokens('chat', 30, 'rt-replay-k1')$$,
  'PT409', null, 'the key without its TTL (the default 600) is PT409');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-b105-000000000001'), 'holds=3 held=100 balance=100 usage=0',
  'a reused key writes nothing');

-- a replay reports the hold as it is now: after a release, released
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b105-000000000001","role":"authenticated"}', true);
select public.release_hold((current_setting('test.first')::jsonb ->> 'hold_id')::uuid);
select set_config('test.after', public.reserve_tokens('chat', 30, 'rt-replay-k1', null, 120)::text, true);
reset role;
select is(current_setting('test.after')::jsonb ->> 'status', 'released', 'a replay after a release reports the hold released');
select is(current_setting('test.after')::jsonb ->> 'hold_id', current_setting('test.first')::jsonb ->> 'hold_id',
  'and it is still the same hold: the key does not reserve again');
select is(pg_temp.footprint('00000000-0000-4000-b105-000000000001'), 'holds=3 held=70 balance=100 usage=0',
  'the released tokens stay free');

-- keys are scoped per user: bob's rt-replay-k1 is his own first use
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b105-000000000002","role":"authenticated"}', true);
select set_config('test.bob', public.reserve_tokens('chat', 99, 'rt-replay-k1')::text, true);
reset role;
select is(current_setting('test.bob')::jsonb -> 'replayed', 'false'::jsonb,
  'another user''s identical key (with another request) is a first use, not a replay or PT409');
select isnt(current_setting('test.bob')::jsonb ->> 'hold_id', current_setting('test.first')::jsonb ->> 'hold_id',
  'it is a hold of its own');

-- a refused request does not use up its key
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b105-000000000002","role":"authenticated"}', true);
select throws_ok($$select public.reserve_tokens('chat', 2, 'rt-replay-k3')$$, 'PT402', null, 'a hold of too many tokens fails');
select is(public.reserve_tokens('chat', 1, 'rt-replay-k3') -> 'replayed', 'false'::jsonb,
  'its key then serves a different request');
reset role;

select * from finish();
rollback;
