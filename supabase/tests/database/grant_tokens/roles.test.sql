-- Who may grant or deduct: the service and admins (app_metadata.role = admin), for anyone.
-- anon has no EXECUTE; a signed-in user may not, not for itself, not for others, not by
-- claiming admin in user_metadata.
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
  ('00000000-0000-4000-8205-000000000001', 'gt-roles-alice@example.test'),
  ('00000000-0000-4000-8205-000000000002', 'gt-roles-bob@example.test'),
  ('00000000-0000-4000-8205-000000000003', 'gt-roles-admin@example.test'),
  ('00000000-0000-4000-8205-000000000004', 'gt-roles-mallory@example.test');

-- anon
select ok(not has_function_privilege('anon', 'public.grant_tokens(uuid, bigint, text, text, text, timestamptz, jsonb)', 'execute'),
  'anon has no EXECUTE on grant_tokens');
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000002', 1, 'admin_grant', 'gt-roles-anon')$$,
  '42501', null, 'anon cannot grant');
reset role;

-- a signed-in user
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8205-000000000001","role":"authenticated"}', true);
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000001', 1, 'admin_grant', 'gt-roles-a1')$$,
  '42501', null, 'a user cannot grant itself tokens');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000002', 1, 'admin_grant', 'gt-roles-a2')$$,
  '42501', null, 'a user cannot grant another user tokens');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000002', 1, 'admin_deduction', 'gt-roles-a3')$$,
  '42501', null, 'a user cannot deduct another user''s tokens');
reset role;

-- user_metadata is the user's own to write
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-8205-000000000004","role":"authenticated","user_metadata":{"role":"admin"}}', true);
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000004', 1000, 'admin_grant', 'gt-roles-m1')$$,
  '42501', null, 'user_metadata.role = admin cannot grant itself tokens');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000002', 1, 'admin_grant', 'gt-roles-m2')$$,
  '42501', null, 'user_metadata.role = admin cannot grant others tokens');
reset role;
-- app_metadata.role = admin in a claim that is not authenticated does nothing for anon
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon","app_metadata":{"role":"admin"}}', true);
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000002', 1, 'admin_grant', 'gt-roles-anon2')$$,
  '42501', null, 'anon with an admin claim still cannot grant');
reset role;

select is(pg_temp.footprint('00000000-0000-4000-8205-000000000001'),
  'usage=0 transactions=0 lots=0 balances=0 balance= remaining=', 'nothing was written for alice');
select is(pg_temp.footprint('00000000-0000-4000-8205-000000000002'),
  'usage=0 transactions=0 lots=0 balances=0 balance= remaining=', 'nothing was written for bob');
select is(pg_temp.footprint('00000000-0000-4000-8205-000000000004'),
  'usage=0 transactions=0 lots=0 balances=0 balance= remaining=', 'nothing was written for mallory');

-- an admin grants and deducts for anyone; the transaction names the admin
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-8205-000000000003","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select set_config('test.admin', public.grant_tokens('00000000-0000-4000-8205-000000000002', 40, 'admin_grant', 'gt-roles-c1')::text, true);
select is((public.grant_tokens('00000000-0000-4000-8205-000000000002', 15, 'admin_deduction', 'gt-roles-c2') ->> 'balance_after')::bigint,
  25::bigint, 'an admin deducts from another user');
-- (an admin is not barred from granting itself: the caller check is the role, not the target)
select is((public.grant_tokens('00000000-0000-4000-8205-000000000003', 5, 'admin_grant', 'gt-roles-c3') ->> 'balance_after')::bigint,
  5::bigint, 'an admin may grant itself');
reset role;
select is((current_setting('test.admin')::jsonb ->> 'balance_after')::bigint, 40::bigint, 'an admin grants another user tokens');
select results_eq(
  $$select source, actor_id from public.token_transactions where idempotency_key = 'gt-roles-c1'$$,
  $$values ('admin'::text, '00000000-0000-4000-8205-000000000003'::uuid)$$,
  'the admin''s grant records source admin and the admin as actor');

-- the service grants for anyone; no actor
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is((public.grant_tokens('00000000-0000-4000-8205-000000000001', 7, 'trial_grant', 'gt-roles-s1', null, now() + interval '7 days') ->> 'balance_after')::bigint,
  7::bigint, 'the service grants tokens');
reset role;
select results_eq(
  $$select source, actor_id from public.token_transactions where idempotency_key = 'gt-roles-s1'$$,
  $$values ('service'::text, null::uuid)$$,
  'the service''s grant records source service and no actor');
select is(pg_temp.footprint('00000000-0000-4000-8205-000000000002'),
  'usage=0 transactions=2 lots=1 balances=1 balance=25 remaining=25', 'bob has the admin''s grant and deduction');
select is(pg_temp.footprint('00000000-0000-4000-8205-000000000001'),
  'usage=0 transactions=1 lots=1 balances=1 balance=7 remaining=7', 'alice has the service''s grant');

select * from finish();
rollback;
