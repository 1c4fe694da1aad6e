-- grant_tokens is idempotent on a global key: the same request again returns the first
-- result with replayed:true and writes nothing; the key with any difference (including
-- another user) is PT409. Usage keys live apart from transaction keys.
begin;
select plan(19);

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
  ('00000000-0000-4000-8206-000000000001', 'gt-replay-alice@example.test'),
  ('00000000-0000-4000-8206-000000000002', 'gt-replay-bob@example.test'),
  ('00000000-0000-4000-8206-000000000003', 'gt-replay-admin@example.test');

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select set_config('test.first', public.grant_tokens('00000000-0000-4000-8206-000000000001', 100, 'trial_grant', 'gt-replay-k1',
  'promo', now() + interval '7 days', '{"campaign":"x"}')::text, true);
select set_config('test.again', public.grant_tokens('00000000-0000-4000-8206-000000000001', 100, 'trial_grant', 'gt-replay-k1',
  'promo', now() + interval '7 days', '{"campaign":"x"}')::text, true);
reset role;

select is(current_setting('test.again')::jsonb -> 'replayed', 'true'::jsonb, 'the same request again is a replay');
select is(current_setting('test.again')::jsonb - 'replayed', current_setting('test.first')::jsonb - 'replayed',
  'a replay returns the first result');
select is(pg_temp.footprint('00000000-0000-4000-8206-000000000001'),
  'usage=0 transactions=1 lots=1 balances=1 balance=100 remaining=100', 'a replay writes nothing');

-- later, after the balance moved: still the first result
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8206-000000000001","role":"authenticated"}', true);
select public.record_usage('chat', 60, 'gt-replay-usage');
reset role;
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-8206-000000000003","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select is(public.grant_tokens('00000000-0000-4000-8206-000000000001', 100, 'trial_grant', 'gt-replay-k1',
    'promo', now() + interval '7 days', '{"campaign":"x"}') - 'replayed',
  current_setting('test.first')::jsonb - 'replayed',
  'an admin retrying the service''s request gets the first result (balances as they were then)');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8206-000000000001'),
  'usage=1 transactions=1 lots=1 balances=1 balance=40 remaining=40', 'still nothing written by the replays');

-- the same key with anything different
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
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
-- keys are global: the same request for another user is a different request
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8206-000000000002', 100, 'trial_grant', 'gt-replay-k1',
  'promo', now() + interval '7 days', '{"campaign":"x"}')$$, 'PT409', null, 'the key for another user is PT409');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8206-000000000001'),
  'usage=1 transactions=1 lots=1 balances=1 balance=40 remaining=40', 'a reused key writes nothing for alice');
select is(pg_temp.footprint('00000000-0000-4000-8206-000000000002'),
  'usage=0 transactions=0 lots=0 balances=0 balance= remaining=', 'nor for bob');

-- a usage key is not a transaction key
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
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
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8206-000000000002'),
  'usage=0 transactions=2 lots=1 balances=1 balance=0 remaining=0', 'bob has one grant and one deduction');
select is_empty(
  $$select * from public.verify_token_ledger() where user_id in
    ('00000000-0000-4000-8206-000000000001', '00000000-0000-4000-8206-000000000002')$$,
  'the ledger is consistent');

select * from finish();
rollback;
