-- Who may settle a hold: its owner or the service (a superuser session counts as the
-- service). Another user, an admin for another user's hold, anon: 42501, nothing written.
begin;
select plan(15);

create function pg_temp.footprint(p_user uuid) returns text language sql as $f$
  select format('usage=%s balance=%s holds=%s',
    (select count(*) from public.token_usage u where u.user_id = p_user),
    (select b.balance from public.token_balances b where b.user_id = p_user),
    (select string_agg(h.idempotency_key || ':' || h.status, ',' order by h.idempotency_key) from public.token_holds h where h.user_id = p_user))
$f$;

insert into auth.users (id, email) values
  ('00000000-0000-4000-b210-000000000001', 'sh-roles-alice@example.test'),
  ('00000000-0000-4000-b210-000000000002', 'sh-roles-bob@example.test'),
  ('00000000-0000-4000-b210-000000000003', 'sh-roles-admin@example.test');
select public.grant_tokens('00000000-0000-4000-b210-000000000001', 100, 'admin_grant', 'sh-roles-a');
select public.grant_tokens('00000000-0000-4000-b210-000000000003', 100, 'admin_grant', 'sh-roles-c');
select set_config('test.a1', public.reserve_tokens('chat', 10, 'a1', '00000000-0000-4000-b210-000000000001') ->> 'hold_id', true);
select set_config('test.a2', public.reserve_tokens('chat', 10, 'a2', '00000000-0000-4000-b210-000000000001') ->> 'hold_id', true);
select set_config('test.a3', public.reserve_tokens('chat', 10, 'a3', '00000000-0000-4000-b210-000000000001') ->> 'hold_id', true);
select set_config('test.c1', public.reserve_tokens('chat', 10, 'c1', '00000000-0000-4000-b210-000000000003') ->> 'hold_id', true);

-- anon
select ok(not has_function_privilege('anon', 'public.settle_hold(uuid, bigint, text, jsonb)', 'execute'),
  'anon has no EXECUTE on settle_hold');
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 5)$$, '42501', null, 'anon cannot settle');
reset role;

-- another user, with or without a claim of admin in user_metadata
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b210-000000000002","role":"authenticated"}', true);
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 5)$$, '42501', null,
  'another user cannot settle alice''s hold');
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 0)$$, '42501', null,
  'not even with zero tokens');
reset role;
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-b210-000000000002","role":"authenticated","user_metadata":{"role":"admin"}}', true);
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 5)$$, '42501', null,
  'user_metadata.role = admin changes nothing');
reset role;
set local role authenticated;
select set_config('request.jwt.claims', '{"role":"authenticated"}', true);
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 5)$$, '42501', null,
  'a token without sub cannot settle');
reset role;

-- an admin: its own hold yes, another user's no
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-b210-000000000003","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select throws_ok($$select public.settle_hold(current_setting('test.a1')::uuid, 5)$$, '42501', null,
  'an admin cannot settle another user''s hold');
select is(public.settle_hold(current_setting('test.c1')::uuid, 5) ->> 'user_id', '00000000-0000-4000-b210-000000000003',
  'an admin settles its own hold');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-b210-000000000001'), 'usage=0 balance=100 holds=a1:held,a2:held,a3:held',
  'the refused callers wrote nothing for alice');

-- the owner
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b210-000000000001","role":"authenticated"}', true);
select is(public.settle_hold(current_setting('test.a1')::uuid, 5) ->> 'balance_after', '95', 'the owner settles its hold');
reset role;

-- the service and a superuser session
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(public.settle_hold(current_setting('test.a2')::uuid, 5) ->> 'user_id', '00000000-0000-4000-b210-000000000001',
  'the service settles anyone''s hold (the hold names the user)');
reset role;
select is(public.settle_hold(current_setting('test.a3')::uuid, 5) ->> 'balance_after', '85',
  'a session that did not switch role acts like the service');

select is(pg_temp.footprint('00000000-0000-4000-b210-000000000001'), 'usage=3 balance=85 holds=a1:settled,a2:settled,a3:settled',
  'three settles of alice''s holds');
select is(pg_temp.footprint('00000000-0000-4000-b210-000000000002'), 'usage=0 balance= holds=', 'nothing for bob');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
