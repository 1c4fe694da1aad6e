-- record_usage is idempotent per user and key: the same request again returns the first
-- result with replayed:true and writes nothing; the key with a different request is PT409;
-- another user's identical key is a different usage.
begin;
select plan(25);

select tests.create_user('ru-replay-alice@example.test', '00000000-0000-4000-8107-000000000001', 100);
select tests.create_user('ru-replay-bob@example.test', '00000000-0000-4000-8107-000000000002', 100);

select is(tests.replay(tests.caller_claims('user', '00000000-0000-4000-8107-000000000001'),
    $$select public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a', '{"q":1}')$$),
  'replayed: the first result',
  'the same request again is a replay: it returns the first result (usage_id, user_id, tokens, balances)');
select is(tests.ledger_footprint('00000000-0000-4000-8107-000000000001'),
  'balance=90 lots=1 remaining=90 transactions=1 usage=1 used=10', 'a replay writes nothing');

-- the same request in other spellings is still the same request
select tests.authenticate_as('00000000-0000-4000-8107-000000000001');
select is(public.record_usage('chat', 10, 'ru-replay-k1', '00000000-0000-4000-8107-000000000001', 'model-a', '{"q":1}') -> 'replayed',
  'true'::jsonb, 'naming one''s own id replays the request made with p_user_id null');
select is(public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a', '{ "q" : 1 }') -> 'replayed',
  'true'::jsonb, 'metadata is compared as JSON, not as text');
select public.record_usage('chat', 1, 'ru-replay-k2');
select is(public.record_usage('chat', 1, 'ru-replay-k2', null, null, null) -> 'replayed', 'true'::jsonb,
  'null metadata is the same request as the default {}');
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select is(public.record_usage('chat', 10, 'ru-replay-k1', '00000000-0000-4000-8107-000000000001', 'model-a', '{"q":1}') -> 'replayed',
  'true'::jsonb, 'the service retrying the user''s request replays it');
select tests.clear_authentication();

-- a replay does not need the tokens any more
select tests.authenticate_as('00000000-0000-4000-8107-000000000001');
select public.record_usage('chat', 89, 'ru-replay-rest');
select is(public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a', '{"q":1}') - 'replayed',
  current_setting('test.first')::jsonb - 'replayed', 'a replay after the balance ran out still returns the first result');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8107-000000000001'),
  'balance=0 lots=1 remaining=0 transactions=1 usage=3 used=100', 'the replays wrote nothing');

-- the key with a different request
select public.grant_tokens('00000000-0000-4000-8107-000000000001', 100, 'admin_grant', 'ru-replay-a2');
select tests.authenticate_as('00000000-0000-4000-8107-000000000001');
select throws_ok($$select public.record_usage('chat', 11, 'ru-replay-k1', null, 'model-a', '{"q":1}')$$,
  'PT409', 'This idempotency key was already used for a different request.', 'the key with other tokens is PT409');
select throws_ok($$select public.record_usage('vision_generation', 10, 'ru-replay-k1', null, 'model-a', '{"q":1}')$$,
  'PT409', null, 'the key with another feature is PT409');
select throws_ok($$select public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-b', '{"q":1}')$$,
  'PT409', null, 'the key with another model is PT409');
select throws_ok($$select public.record_usage('chat', 10, 'ru-replay-k1', null, null, '{"q":1}')$$,
  'PT409', null, 'the key without the model is PT409');
select throws_ok($$select public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a', '{"q":2}')$$,
  'PT409', null, 'the key with other metadata is PT409');
select throws_ok($$select public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a')$$,
  'PT409', null, 'the key without the metadata is PT409');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8107-000000000001'),
  'balance=100 lots=2 remaining=100 transactions=2 usage=3 used=100', 'a reused key writes nothing');

-- keys are scoped per user: bob's ru-replay-k1 is his own first use
select tests.authenticate_as('00000000-0000-4000-8107-000000000002');
select set_config('test.bob', public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a', '{"q":1}')::text, true);
select tests.clear_authentication();
select is(current_setting('test.bob')::jsonb -> 'replayed', 'false'::jsonb, 'another user''s identical key is not a replay');
select isnt(current_setting('test.bob')::jsonb ->> 'usage_id', current_setting('test.first')::jsonb ->> 'usage_id',
  'it is a usage of its own');
select is(tests.ledger_footprint('00000000-0000-4000-8107-000000000002'),
  'balance=90 lots=1 remaining=90 transactions=1 usage=1 used=10', 'bob spent his own tokens');
select tests.authenticate_as('00000000-0000-4000-8107-000000000002');
select lives_ok($$select public.record_usage('chat', 9, 'ru-replay-k2')$$,
  'another user may use a key with a different request (no PT409 across users)');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8107-000000000001'),
  'balance=100 lots=2 remaining=100 transactions=2 usage=3 used=100', 'alice is untouched by bob''s keys');

-- a failed request does not use up its key
select tests.authenticate_as('00000000-0000-4000-8107-000000000001');
select throws_ok($$select public.record_usage('chat', 101, 'ru-replay-k3')$$, 'PT402', null, 'a request for too many tokens fails');
select is(public.record_usage('chat', 5, 'ru-replay-k3') -> 'replayed', 'false'::jsonb,
  'its key then serves a different request');
select tests.clear_authentication();

-- a feature switched off after the usage: a retry still gets the first result
insert into public.token_features (id, description) values ('ru_replay_sunset', 'feature about to be retired');
select tests.authenticate_as('00000000-0000-4000-8107-000000000001');
select set_config('test.sunset', public.record_usage('ru_replay_sunset', 3, 'ru-replay-k4')::text, true);
select tests.clear_authentication();
update public.token_features set active = false where id = 'ru_replay_sunset';
select tests.authenticate_as('00000000-0000-4000-8107-000000000001');
select is(public.record_usage('ru_replay_sunset', 3, 'ru-replay-k4') - 'replayed', current_setting('test.sunset')::jsonb - 'replayed',
  'a replay after the feature was retired returns the first result');
select throws_ok($$select public.record_usage('ru_replay_sunset', 3, 'ru-replay-k5')$$, '22023', null,
  'while new usage of the retired feature is rejected');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8107-000000000001'),
  'balance=92 lots=2 remaining=92 transactions=2 usage=5 used=108', 'the replay wrote nothing');

select * from finish();
rollback;
