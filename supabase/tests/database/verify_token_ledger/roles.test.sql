-- Only the service verifies the ledger: anon and authenticated have no EXECUTE, and an
-- admin (a signed-in user) is refused as well.
begin;
select plan(9);

insert into auth.users (id, email) values
  ('00000000-0000-4000-8503-000000000001', 'vl-roles-alice@example.test'),
  ('00000000-0000-4000-8503-000000000003', 'vl-roles-admin@example.test');
select public.grant_tokens('00000000-0000-4000-8503-000000000001', 10, 'admin_grant', 'vl-roles-a');

select ok(not has_function_privilege('anon', 'public.verify_token_ledger(uuid)', 'execute'), 'anon has no EXECUTE');
select ok(not has_function_privilege('authenticated', 'public.verify_token_ledger(uuid)', 'execute'), 'authenticated has no EXECUTE');
select ok(has_function_privilege('service_role', 'public.verify_token_ledger(uuid)', 'execute'), 'service_role has EXECUTE');

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select * from public.verify_token_ledger()$$, '42501', null, 'anon cannot verify the ledger');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8503-000000000001","role":"authenticated"}', true);
select throws_ok($$select * from public.verify_token_ledger('00000000-0000-4000-8503-000000000001')$$, '42501', null,
  'a user cannot verify even its own ledger');
reset role;

set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-8503-000000000003","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select throws_ok($$select * from public.verify_token_ledger()$$, '42501', null, 'an admin cannot verify the ledger');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select lives_ok($$select * from public.verify_token_ledger()$$, 'the service verifies the whole ledger');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-8503-000000000001')$$,
  'and one user''s');
reset role;

select lives_ok($$select * from public.verify_token_ledger('00000000-0000-4000-8503-000000000001')$$,
  'a session that did not switch role (SQL editor, cron) may verify');

select * from finish();
rollback;
