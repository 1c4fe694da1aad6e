-- grant_tokens is idempotent on the user's key: the same request again returns the first
-- result with replayed:true and writes nothing; the key with any difference is PT409. Keys
-- are scoped to the user: the same key for another user is that user's own new grant.
-- Usage keys live apart from transaction keys.
begin;
select plan(18);

select tests.create_users('gt-replay', '00000000-0000-4000-8206-000000000001', '00000000-0000-4000-8206-000000000002');
select tests.create_user('gt-replay-admin@example.test', '00000000-0000-4000-8206-000000000003');

select is(tests.replay(tests.caller_claims('service'),
    $$select public.grant_tokens('00000000-0000-4000-8206-000000000001', 100, 'trial_grant', 'gt-replay-k1', 'promo', now() + interval '7 days', '{"campaign":"x"}')$$),
  'replayed: the first result',
  'the same request again is a replay: it returns the first result');
select is(tests.ledger_footprint('00000000-0000-4000-8206-000000000001'),
  'balance=100 lots=1 remaining=100 transactions=1', 'a replay writes nothing');

-- later, after the balance moved: still the first result
select tests.authenticate_as('00000000-0000-4000-8206-000000000001');
select public.record_usage('chat', 60, 'gt-replay-usage');
select tests.clear_authentication();
select tests.authenticate_as_admin('00000000-0000-4000-8206-000000000003');
select is(public.grant_tokens('00000000-0000-4000-8206-000000000001', 100, 'trial_grant', 'gt-replay-k1',
    'promo', now() + interval '7 days', '{"campaign":"x"}') - 'replayed',
  current_setting('test.first')::jsonb - 'replayed',
  'an admin retrying the service''s request gets the first result (balances as they were then)');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8206-000000000001'),
  'balance=40 lots=1 remaining=40 transactions=1 usage=1 used=60', 'still nothing written by the replays');

-- the same key with anything different
select tests.authenticate_as_service_role();
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8206-000000000001', 101, 'trial_grant', 'gt-replay-k1',
  'promo', now() + interval '7 days', '{"campaign":"x"}')$$,
  'PT409', 'This idempotency key was already used for a different request.', 'another amount is PT409');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8206-000000000001', 100, 'admin_grant', 'gt-replay-k1',
  'promo', now() + interval '7 days', '{"campaign":"x"}')$$, 'PT409', null, 'another type is PT409');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8206-000000000001', 100, 'trial_grant', 'gt-replay-k1',
  'other', now() + interval '7 days', '{"campaign":"x"}')$$, 'PT409', null, 'another source is PT409');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8206-000000000001', 100, 'trial_grant', 'gt-replay-k1',
  'promo', now() + interval '8 days', '{"campaign":"x"}')$$, 'PT409', null, 'another expiry is PT409');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8206-000000000001', 100, 'trial_grant', 'gt-replay-k1',
  'promo', now() + interval '7 days', '{"campaign":"y"}')$$, 'PT409', null, 'other metadata is PT409');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8206-000000000001', 100, 'admin_deduction', 'gt-replay-k1')$$,
  'PT409', null, 'a deduction under a grant''s key is PT409');
-- keys are per user: the same key for another user is a new grant of that user's
select is((public.grant_tokens('00000000-0000-4000-8206-000000000002', 100, 'trial_grant', 'gt-replay-k1',
  'promo', now() + interval '7 days', '{"campaign":"x"}') ->> 'replayed')::boolean, false,
  'the key for another user is that user''s own new grant');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8206-000000000001'),
  'balance=40 lots=1 remaining=40 transactions=1 usage=1 used=60', 'a reused key writes nothing for alice');
select is(tests.ledger_footprint('00000000-0000-4000-8206-000000000002'),
  'balance=100 lots=1 remaining=100 transactions=1', 'bob got his own grant under the same key');

-- a usage key is not a transaction key
select tests.authenticate_as_service_role();
select is(public.grant_tokens('00000000-0000-4000-8206-000000000001', 5, 'admin_grant', 'gt-replay-usage') -> 'replayed', 'false'::jsonb,
  'a grant may use a key that a usage of the same user used');
-- null metadata is the default {}
select public.grant_tokens('00000000-0000-4000-8206-000000000002', 5, 'admin_grant', 'gt-replay-k2');
select is(public.grant_tokens('00000000-0000-4000-8206-000000000002', 5, 'admin_grant', 'gt-replay-k2', null, null, null) -> 'replayed',
  'true'::jsonb, 'null metadata replays a request made with the default');
-- a replayed deduction does not need the tokens any more
select public.grant_tokens('00000000-0000-4000-8206-000000000002', 5, 'admin_deduction', 'gt-replay-k3');
select is(public.grant_tokens('00000000-0000-4000-8206-000000000002', 5, 'admin_deduction', 'gt-replay-k3') -> 'replayed',
  'true'::jsonb, 'a replayed deduction is not refused for lack of tokens');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8206-000000000002'),
  'balance=100 lots=2 remaining=100 transactions=3', 'bob has his grant under alice''s key, one grant and one deduction');
select is_empty(
  $$select * from public.verify_token_ledger() where user_id in
    ('00000000-0000-4000-8206-000000000001', '00000000-0000-4000-8206-000000000002')$$,
  'the ledger is consistent');

select * from finish();
rollback;
