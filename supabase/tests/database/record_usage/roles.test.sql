-- Who may record usage for whom: anon nobody (no EXECUTE); a signed-in user itself only; an
-- admin itself only as well (usage is spent by the user, not granted); the service anyone.
begin;
select plan(22);

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
  ('00000000-0000-4000-8106-000000000001', 'ru-roles-alice@example.test'),
  ('00000000-0000-4000-8106-000000000002', 'ru-roles-bob@example.test'),
  ('00000000-0000-4000-8106-000000000003', 'ru-roles-admin@example.test'),
  ('00000000-0000-4000-8106-000000000004', 'ru-roles-mallory@example.test');
select public.grant_tokens('00000000-0000-4000-8106-000000000001', 100, 'admin_grant', 'ru-roles-a');
select public.grant_tokens('00000000-0000-4000-8106-000000000002', 100, 'admin_grant', 'ru-roles-b');
select public.grant_tokens('00000000-0000-4000-8106-000000000003', 100, 'admin_grant', 'ru-roles-c');

-- anon
select ok(not has_function_privilege('anon', 'public.record_usage(text, bigint, text, uuid, text, jsonb)', 'execute'),
  'anon has no EXECUTE on record_usage');
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-anon', '00000000-0000-4000-8106-000000000002')$$,
  '42501', null, 'anon cannot record usage');
reset role;

-- authenticated: self only
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8106-000000000001","role":"authenticated"}', true);
select is(public.record_usage('chat', 1, 'ru-roles-a1') ->> 'user_id', '00000000-0000-4000-8106-000000000001',
  'a user records its own usage (p_user_id null)');
select is(public.record_usage('chat', 1, 'ru-roles-a2', '00000000-0000-4000-8106-000000000001') ->> 'user_id',
  '00000000-0000-4000-8106-000000000001', 'a user records its own usage (p_user_id its own id)');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-a3', '00000000-0000-4000-8106-000000000002')$$,
  '42501', null, 'a user cannot record usage for another user');
reset role;

-- authenticated without a user id in the token
set local role authenticated;
select set_config('request.jwt.claims', '{"role":"authenticated"}', true);
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-nosub')$$, '42501', null,
  'a token without sub cannot record usage');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-nosub', '00000000-0000-4000-8106-000000000002')$$, '42501', null,
  'a token without sub cannot name a user either');
reset role;

-- user_metadata is written by the user: claiming admin there changes nothing
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-8106-000000000004","role":"authenticated","user_metadata":{"role":"admin"}}', true);
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-m1', '00000000-0000-4000-8106-000000000002')$$,
  '42501', null, 'user_metadata.role = admin does not allow acting for another user');
reset role;

-- admin (app_metadata): itself only
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-8106-000000000003","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select is(public.record_usage('chat', 1, 'ru-roles-c1') ->> 'user_id', '00000000-0000-4000-8106-000000000003',
  'an admin records its own usage');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-c2', '00000000-0000-4000-8106-000000000002')$$,
  '42501', null, 'an admin cannot record usage for another user');
reset role;

select is(pg_temp.footprint('00000000-0000-4000-8106-000000000002'),
  'usage=0 transactions=1 lots=1 balances=1 balance=100 remaining=100', 'nothing was written for bob by the refused callers');
select is(pg_temp.footprint('00000000-0000-4000-8106-000000000001'),
  'usage=2 transactions=1 lots=1 balances=1 balance=98 remaining=98', 'alice''s two own usages were written');
select is(pg_temp.footprint('00000000-0000-4000-8106-000000000003'),
  'usage=1 transactions=1 lots=1 balances=1 balance=99 remaining=99', 'the admin''s own usage was written');
select is(pg_temp.footprint('00000000-0000-4000-8106-000000000004'),
  'usage=0 transactions=0 lots=0 balances=0 balance= remaining=', 'nothing was written for mallory');

-- service_role: anyone, but must say who
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select set_config('test.r', public.record_usage('chat', 5, 'ru-roles-s1', '00000000-0000-4000-8106-000000000002')::text, true);
select is(current_setting('test.r')::jsonb ->> 'user_id', '00000000-0000-4000-8106-000000000002', 'the service records usage for the user it names');
select is((current_setting('test.r')::jsonb ->> 'balance_after')::bigint, 95::bigint, 'and spends that user''s tokens');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-s2')$$, '22023', null, 'the service must name the user');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8106-000000000002'),
  'usage=1 transactions=1 lots=1 balances=1 balance=95 remaining=95', 'bob has the service''s usage only');

-- the service's usage key is bob's key: bob retrying it replays, he does not spend twice
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8106-000000000002","role":"authenticated"}', true);
select is(public.record_usage('chat', 5, 'ru-roles-s1') -> 'replayed', 'true'::jsonb,
  'a usage key belongs to the user, whoever recorded it');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8106-000000000002'),
  'usage=1 transactions=1 lots=1 balances=1 balance=95 remaining=95', 'the replay wrote nothing');

-- a superuser session (SQL editor, cron) is trusted like the service
select is(public.record_usage('chat', 1, 'ru-roles-su', '00000000-0000-4000-8106-000000000002') ->> 'balance_after', '94',
  'a session that did not switch role acts like the service');
select throws_ok($$select public.record_usage('chat', 1, 'ru-roles-su2')$$, '22023', null, 'and must name the user too');

select * from finish();
rollback;
