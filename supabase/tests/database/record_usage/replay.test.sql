-- record_usage is idempotent per user and key: the same request again returns the first
-- result with replayed:true and writes nothing; the key with a different request is PT409;
-- another user's identical key is a different usage.
begin;
select plan(26);

create function pg_temp.footprint(p_user uuid) returns text language sql as $f$
  select format('usage=%s transactions=%s lots=%s balances=%s balance=%s remaining=%s',
    (select count(*) from public.token_usage u where u.user_id = p_user),
    (select count(*) from public.token_transactions t where t.user_id = p_user),
    (select count(*) from public.token_lots l where l.user_id = p_user),
    (select count(*) from public.token_balances b where b.user_id = p_user),
    (select b.balance from public.token_balances b where b.user_id = p_user),
    (select sum(l.remaining) from public.token_lots l where l.user_id = p_user))
$f$;

insert into auth.users (id, email) values
  ('00000000-0000-4000-8107-000000000001', 'ru-replay-alice@example.test'),
  ('00000000-0000-4000-8107-000000000002', 'ru-replay-bob@example.test');
select public.grant_tokens('00000000-0000-4000-8107-000000000001', 100, 'admin_grant', 'ru-replay-a');
select public.grant_tokens('00000000-0000-4000-8107-000000000002', 100, 'admin_grant', 'ru-replay-b');

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8107-000000000001","role":"authenticated"}', true);
select set_config('test.first', public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a', '{"q":1}')::text, true);
select set_config('test.again', public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a', '{"q":1}')::text, true);
reset role;

select is(current_setting('test.again')::jsonb -> 'replayed', 'true'::jsonb, 'the same request again is a replay');
select is(current_setting('test.again')::jsonb - 'replayed', current_setting('test.first')::jsonb - 'replayed',
  'a replay returns the first result (usage_id, user_id, tokens, balances)');
select is(pg_temp.footprint('00000000-0000-4000-8107-000000000001'),
  'usage=1 transactions=1 lots=1 balances=1 balance=90 remaining=90', 'a replay writes nothing');

-- the same request in other spellings is still the same request
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8107-000000000001","role":"authenticated"}', true);
select is(public.record_usage('chat', 10, 'ru-replay-k1', '00000000-0000-4000-8107-000000000001', 'model-a', '{"q":1}') -> 'replayed',
  'true'::jsonb, 'naming one''s own id replays the request made with p_user_id null');
select is(public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a', '{ "q" : 1 }') -> 'replayed',
  'true'::jsonb, 'metadata is compared as JSON, not as text');
select public.record_usage('chat', 1, 'ru-replay-k2');
select is(public.record_usage('chat', 1, 'ru-replay-k2', null, null, null) -> 'replayed', 'true'::jsonb,
  'null metadata is the same request as the default {}');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(public.record_usage('chat', 10, 'ru-replay-k1', '00000000-0000-4000-8107-000000000001', 'model-a', '{"q":1}') -> 'replayed',
  'true'::jsonb, 'the service retrying the user''s request replays it');
reset role;

-- a replay does not need the tokens any more
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8107-000000000001","role":"authenticated"}', true);
select public.record_usage('chat', 89, 'ru-replay-rest');
select is(public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a', '{"q":1}') - 'replayed',
  current_setting('test.first')::jsonb - 'replayed', 'a replay after the balance ran out still returns the first result');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8107-000000000001'),
  'usage=3 transactions=1 lots=1 balances=1 balance=0 remaining=0', 'the replays wrote nothing');

-- the key with a different request
select public.grant_tokens('00000000-0000-4000-8107-000000000001', 100, 'admin_grant', 'ru-replay-a2');
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8107-000000000001","role":"authenticated"}', true);
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
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8107-000000000001'),
  'usage=3 transactions=2 lots=2 balances=1 balance=100 remaining=100', 'a reused key writes nothing');

-- keys are scoped per user: bob's ru-replay-k1 is his own first use
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8107-000000000002","role":"authenticated"}', true);
select set_config('test.bob', public.record_usage('chat', 10, 'ru-replay-k1', null, 'model-a', '{"q":1}')::text, true);
reset role;
select is(current_setting('test.bob')::jsonb -> 'replayed', 'false'::jsonb, 'another user''s identical key is not a replay');
select isnt(current_setting('test.bob')::jsonb ->> 'usage_id', current_setting('test.first')::jsonb ->> 'usage_id',
  'it is a usage of its own');
select is(pg_temp.footprint('00000000-0000-4000-8107-000000000002'),
  'usage=1 transactions=1 lots=1 balances=1 balance=90 remaining=90', 'bob spent his own tokens');
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8107-000000000002","role":"authenticated"}', true);
select lives_ok($$select public.record_usage('chat', 9, 'ru-replay-k2')$$,
  'another user may use a key with a different request (no PT409 across users)');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8107-000000000001'),
  'usage=3 transactions=2 lots=2 balances=1 balance=100 remaining=100', 'alice is untouched by bob''s keys');

-- a failed request does not use up its key
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8107-000000000001","role":"authenticated"}', true);
select throws_ok($$select public.record_usage('chat', 101, 'ru-replay-k3')$$, 'PT402', null, 'a request for too many tokens fails');
select is(public.record_usage('chat', 5, 'ru-replay-k3') -> 'replayed', 'false'::jsonb,
  'its key then serves a different request');
reset role;

-- a feature switched off after the usage: a retry still gets the first result
insert into public.token_features (id, description) values ('ru_replay_sunset', 'feature about to be retired');
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8107-000000000001","role":"authenticated"}', true);
select set_config('test.sunset', public.record_usage('ru_replay_sunset', 3, 'ru-replay-k4')::text, true);
reset role;
update public.token_features set active = false where id = 'ru_replay_sunset';
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8107-000000000001","role":"authenticated"}', true);
select is(public.record_usage('ru_replay_sunset', 3, 'ru-replay-k4') - 'replayed', current_setting('test.sunset')::jsonb - 'replayed',
  'a replay after the feature was retired returns the first result');
select throws_ok($$select public.record_usage('ru_replay_sunset', 3, 'ru-replay-k5')$$, '22023', null,
  'while new usage of the retired feature is rejected');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8107-000000000001'),
  'usage=5 transactions=2 lots=2 balances=1 balance=92 remaining=92', 'the replay wrote nothing');

select * from finish();
rollback;
