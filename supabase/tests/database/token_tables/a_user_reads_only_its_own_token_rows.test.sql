-- RLS on the token tables: a signed-in user reads its own rows only; anon reads nothing;
-- service_role reads everything (counted on this file's users: `supabase test db` runs on a
-- dev database that may hold other rows).
begin;
select plan(13);

select tests.create_users('rls', '00000000-0000-4000-a000-000000000001', '00000000-0000-4000-a000-000000000002');

-- Rows written the way the ledger writes them (the test session is trusted like the service).
select public.grant_tokens('00000000-0000-4000-a000-000000000001', 11, 'admin_grant', 'rls-a');
select public.grant_tokens('00000000-0000-4000-a000-000000000002', 22, 'admin_grant', 'rls-b');
select public.record_usage('chat', 1, 'rls-ua', '00000000-0000-4000-a000-000000000001');
select public.record_usage('chat', 2, 'rls-ub', '00000000-0000-4000-a000-000000000002');
insert into public.subscription_plans (id, drip_tokens) values ('rls-plan-5', 5), ('rls-plan-6', 6);
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-a000-0000000000a1', '00000000-0000-4000-a000-000000000001', 'rls-plan-5', 'active', now()),
  ('00000000-0000-4000-a000-0000000000a2', '00000000-0000-4000-a000-000000000002', 'rls-plan-6', 'active', now());
select public.run_drip('00000000-0000-4000-a000-0000000000a1', now());
select public.run_drip('00000000-0000-4000-a000-0000000000a2', now());

-- anon: no rows at all (and no privilege to ask).
select tests.authenticate_as_anon();
select throws_ok('select count(*) from public.token_transactions', '42501', null, 'anon cannot read token_transactions');
select throws_ok('select count(*) from public.token_usage', '42501', null, 'anon cannot read token_usage');
select throws_ok('select count(*) from public.token_drips', '42501', null, 'anon cannot read token_drips');
select tests.clear_authentication();

-- authenticated alice: her rows only.
select tests.authenticate_as('00000000-0000-4000-a000-000000000001');
select results_eq('select token_amount::bigint from public.token_transactions', array[11::bigint], 'alice sees only her transaction');
select results_eq('select tokens::bigint from public.token_usage', array[1::bigint], 'alice sees only her usage');
select results_eq('select drip_amount::bigint from public.token_drips', array[5::bigint], 'alice sees only her drip');
select is_empty($$select 1 from public.token_transactions where user_id = '00000000-0000-4000-a000-000000000002'$$, 'alice cannot see bob''s transactions even by asking');
select tests.clear_authentication();

-- authenticated bob: his rows only.
select tests.authenticate_as('00000000-0000-4000-a000-000000000002');
select results_eq('select token_amount::bigint from public.token_transactions', array[22::bigint], 'bob sees only his transaction');
select results_eq('select tokens::bigint from public.token_usage', array[2::bigint], 'bob sees only his usage');
select tests.clear_authentication();

-- authenticated without a user id (a bad token) sees nothing.
select is(tests.outcome_as(tests.caller_claims('no sub'), 'select count(*)::text from public.token_transactions'), '0',
  'authenticated without sub sees nothing');

-- service_role: everything (counted over the two users: the seed has users with rows too).
select tests.authenticate_as_service_role();
select results_eq($$select count(*)::int from public.token_transactions where user_id in
  ('00000000-0000-4000-a000-000000000001', '00000000-0000-4000-a000-000000000002')$$, array[2],
  'service_role sees all transactions');
select results_eq($$select count(*)::int from public.token_usage where user_id in
  ('00000000-0000-4000-a000-000000000001', '00000000-0000-4000-a000-000000000002')$$, array[2],
  'service_role sees all usage');
select results_eq($$select count(*)::int from public.token_drips where user_id in
  ('00000000-0000-4000-a000-000000000001', '00000000-0000-4000-a000-000000000002')$$, array[2],
  'service_role sees all drips');
select tests.clear_authentication();

select * from finish();
rollback;
