-- reserve_tokens is idempotent per user and key: the same request again returns the first
-- hold with replayed:true and holds nothing more; the key with a different request (feature,
-- tokens or TTL) is PT409; another user's identical key is a hold of its own.
begin;
select plan(19);

select tests.create_user('rt-replay-alice@example.test', '00000000-0000-4000-b105-000000000001', 100);
select tests.create_user('rt-replay-bob@example.test', '00000000-0000-4000-b105-000000000002', 100);

select is(tests.replay(tests.caller_claims('user', '00000000-0000-4000-b105-000000000001'),
    $$select public.reserve_tokens('chat', 30, 'rt-replay-k1', null, 120)$$),
  'replayed: the first result',
  'the same request again is a replay: a replay returns the first hold (id, tokens, expiry, available_after, status)');
select is(tests.ledger_footprint('00000000-0000-4000-b105-000000000001'), 'balance=100 lots=1 remaining=100 transactions=1 holds=1 held=30',
  'a replay holds nothing more');

-- the same request in other spellings, and from the service
select tests.authenticate_as('00000000-0000-4000-b105-000000000001');
select is(public.reserve_tokens('chat', 30, 'rt-replay-k1', '00000000-0000-4000-b105-000000000001', 120) - 'replayed',
  current_setting('test.first')::jsonb - 'replayed', 'naming one''s own id replays the request made with p_user_id null');
select public.reserve_tokens('chat', 5, 'rt-replay-k2');
select is(public.reserve_tokens('chat', 5, 'rt-replay-k2', null, 600) -> 'replayed', 'true'::jsonb,
  'the default TTL spelled out is the same request');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select is(public.reserve_tokens('chat', 30, 'rt-replay-k1', '00000000-0000-4000-b105-000000000001', 120) - 'replayed',
  current_setting('test.first')::jsonb - 'replayed', 'the service retrying the user''s request replays it');
select tests.clear_authentication();

-- a replay does not need the tokens any more
select tests.authenticate_as('00000000-0000-4000-b105-000000000001');
select public.reserve_tokens('chat', 65, 'rt-replay-rest');
select is(public.reserve_tokens('chat', 30, 'rt-replay-k1', null, 120) - 'replayed',
  current_setting('test.first')::jsonb - 'replayed', 'a replay with nothing left available still returns the first hold');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-b105-000000000001'), 'balance=100 lots=1 remaining=100 transactions=1 holds=3 held=100',
  'the replays held nothing more');

-- the key with a different request: PT409, nothing written
select tests.authenticate_as('00000000-0000-4000-b105-000000000001');
select throws_ok($$select public.reserve_tokens('chat', 31, 'rt-replay-k1', null, 120)$$,
  'PT409', 'This idempotency key was already used for a different request.', 'the key with other tokens is PT409');
select throws_ok($$select public.reserve_tokens('vision_generation', 30, 'rt-replay-k1', null, 120)$$,
  'PT409', null, 'the key with another feature is PT409');
select throws_ok($$select public.reserve_tokens('chat', 30, 'rt-replay-k1', null, 121)$$,
  'PT409', null, 'the key with another TTL is PT409');
select throws_ok($$select public.reserve_tokens('chat', 30, 'rt-replay-k1')$$,
  'PT409', null, 'the key without its TTL (the default 600) is PT409');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-b105-000000000001'), 'balance=100 lots=1 remaining=100 transactions=1 holds=3 held=100',
  'a reused key writes nothing');

-- a replay reports the hold as it is now: after a release, released
select tests.authenticate_as('00000000-0000-4000-b105-000000000001');
select public.release_hold((current_setting('test.first')::jsonb ->> 'hold_id')::uuid);
select set_config('test.after', public.reserve_tokens('chat', 30, 'rt-replay-k1', null, 120)::text, true);
select tests.clear_authentication();
select is(current_setting('test.after')::jsonb ->> 'status', 'released', 'a replay after a release reports the hold released');
select is(current_setting('test.after')::jsonb ->> 'hold_id', current_setting('test.first')::jsonb ->> 'hold_id',
  'and it is still the same hold: the key does not reserve again');
select is(tests.ledger_footprint('00000000-0000-4000-b105-000000000001'), 'balance=100 lots=1 remaining=100 transactions=1 holds=3 held=70',
  'the released tokens stay free');

-- keys are scoped per user: bob's rt-replay-k1 is his own first use
select tests.authenticate_as('00000000-0000-4000-b105-000000000002');
select set_config('test.bob', public.reserve_tokens('chat', 99, 'rt-replay-k1')::text, true);
select tests.clear_authentication();
select is(current_setting('test.bob')::jsonb -> 'replayed', 'false'::jsonb,
  'another user''s identical key (with another request) is a first use, not a replay or PT409');
select isnt(current_setting('test.bob')::jsonb ->> 'hold_id', current_setting('test.first')::jsonb ->> 'hold_id',
  'it is a hold of its own');

-- a refused request does not use up its key
select tests.authenticate_as('00000000-0000-4000-b105-000000000002');
select throws_ok($$select public.reserve_tokens('chat', 2, 'rt-replay-k3')$$, 'PT402', null, 'a hold of too many tokens fails');
select is(public.reserve_tokens('chat', 1, 'rt-replay-k3') -> 'replayed', 'false'::jsonb,
  'its key then serves a different request');
select tests.clear_authentication();

select * from finish();
rollback;
