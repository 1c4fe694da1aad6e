-- token_balances and token_lots through the API roles: a signed-in user reads its own rows
-- only, anon reads nothing, the service reads everything, and nobody writes them directly.
begin;
select plan(17);

select tests.create_user('lt-rls-alice@example.test', '00000000-0000-4000-8603-000000000001', 11);
select tests.create_user('lt-rls-bob@example.test', '00000000-0000-4000-8603-000000000002', 22);

select tests.authenticate_as_anon();
select throws_ok('select count(*) from public.token_balances', '42501', null, 'anon cannot read token_balances');
select throws_ok('select count(*) from public.token_lots', '42501', null, 'anon cannot read token_lots');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-8603-000000000001');
select results_eq('select user_id, balance from public.token_balances',
  $$values ('00000000-0000-4000-8603-000000000001'::uuid, 11::bigint)$$, 'alice sees only her balance row');
select results_eq('select user_id, remaining from public.token_lots',
  $$values ('00000000-0000-4000-8603-000000000001'::uuid, 11::bigint)$$, 'alice sees only her lots');
select is_empty($$select 1 from public.token_balances where user_id = '00000000-0000-4000-8603-000000000002'$$,
  'alice cannot see bob''s balance even by asking');
-- direct writes
select throws_ok($$update public.token_balances set balance = 1000000 where user_id = '00000000-0000-4000-8603-000000000001'$$,
  '42501', null, 'a user cannot raise its balance');
select throws_ok($$insert into public.token_lots (user_id, source, original, remaining) values ('00000000-0000-4000-8603-000000000001', 'gift', 1000, 1000)$$,
  '42501', null, 'a user cannot insert a lot');
select throws_ok($$update public.token_lots set remaining = original where user_id = '00000000-0000-4000-8603-000000000001'$$,
  '42501', null, 'a user cannot refill a lot');
select throws_ok($$delete from public.token_balances where user_id = '00000000-0000-4000-8603-000000000001'$$,
  '42501', null, 'a user cannot delete its balance row');
select throws_ok($$insert into public.token_balances (user_id, balance) values ('00000000-0000-4000-8603-000000000001', 5)$$,
  '42501', null, 'a user cannot insert a balance row');
select tests.clear_authentication();

select is(tests.outcome_as(tests.caller_claims('no sub'), 'select count(*)::text from public.token_balances'), '0',
  'authenticated without sub sees no balance');

select tests.authenticate_as_service_role();
select results_eq(
  $$select user_id, balance from public.token_balances where user_id::text like '00000000-0000-4000-8603-%' order by user_id$$,
  $$values ('00000000-0000-4000-8603-000000000001'::uuid, 11::bigint), ('00000000-0000-4000-8603-000000000002'::uuid, 22::bigint)$$,
  'the service sees every balance');
select is((select count(*)::int from public.token_lots where user_id::text like '00000000-0000-4000-8603-%'), 2,
  'the service sees every lot');
select throws_ok($$update public.token_balances set balance = 0 where user_id = '00000000-0000-4000-8603-000000000001'$$,
  '42501', null, 'the service cannot write balances directly');
select throws_ok($$delete from public.token_lots where user_id = '00000000-0000-4000-8603-000000000001'$$,
  '42501', null, 'the service cannot delete lots directly');
select throws_ok($$insert into public.token_lots (user_id, source, original, remaining) values ('00000000-0000-4000-8603-000000000001', 'gift', 1, 1)$$,
  '42501', null, 'the service cannot insert lots directly');
select tests.clear_authentication();

select is(tests.balance_and_debt('00000000-0000-4000-8603-000000000001'), 'balance=11 debt=0',
  'alice''s balance is unchanged');

select * from finish();
rollback;
