-- RLS on token_holds: a signed-in user reads its own holds only; anon reads nothing (no
-- privilege); a token without sub sees nothing; service_role reads every hold.
begin;
select plan(9);

select tests.create_user('th-rls-alice@example.test', '00000000-0000-4000-b501-000000000001', 100);
select tests.create_user('th-rls-bob@example.test', '00000000-0000-4000-b501-000000000002', 100);
select public.reserve_tokens('chat', 11, 'th-rls-a1', '00000000-0000-4000-b501-000000000001');
select public.reserve_tokens('chat', 12, 'th-rls-a2', '00000000-0000-4000-b501-000000000001');
select public.reserve_tokens('chat', 22, 'th-rls-b1', '00000000-0000-4000-b501-000000000002');

select tests.authenticate_as_anon();
select throws_ok('select count(*) from public.token_holds', '42501', null, 'anon cannot read token_holds');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-b501-000000000001');
select results_eq('select tokens_held from public.token_holds order by tokens_held', array[11::bigint, 12::bigint],
  'alice sees her two holds');
select is_empty($$select 1 from public.token_holds where user_id = '00000000-0000-4000-b501-000000000002'$$,
  'alice cannot see bob''s hold even by asking');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-b501-000000000002');
select results_eq('select tokens_held from public.token_holds', array[22::bigint], 'bob sees only his hold');
select tests.clear_authentication();

-- an admin is still a user here: the table shows its own rows (admins use the RPCs)
select tests.authenticate_as_admin('00000000-0000-4000-b501-000000000002');
select results_eq('select tokens_held from public.token_holds', array[22::bigint], 'an admin reads only its own holds');
select tests.clear_authentication();

select is(tests.outcome_as(tests.caller_claims('no sub'), 'select count(*)::text from public.token_holds'), '0',
  'authenticated without sub sees nothing');

select tests.authenticate_as_service_role();
select results_eq(
  $$select count(*)::int from public.token_holds
     where user_id in ('00000000-0000-4000-b501-000000000001', '00000000-0000-4000-b501-000000000002')$$,
  array[3], 'service_role sees every hold');
select tests.clear_authentication();

-- a settled hold stays readable by its owner, with its usage
select public.settle_hold(id, 5) from public.token_holds where idempotency_key = 'th-rls-a1' and user_id = '00000000-0000-4000-b501-000000000001';
select tests.authenticate_as('00000000-0000-4000-b501-000000000001');
select results_eq(
  $$select h.status, u.tokens from public.token_holds h join public.token_usage u on u.id = h.usage_id$$,
  $$values ('settled'::text, 5::bigint)$$, 'alice sees her settled hold and its usage row');
select results_eq(
  $$select count(*)::int from public.token_usage where hold_id is not null$$, array[1],
  'and only her own usage rows');
select tests.clear_authentication();

select * from finish();
rollback;
