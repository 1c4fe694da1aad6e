-- get_token_balance_at: a user reads their own past balance, never another user's; admins and
-- the service read anyone's; anon has no EXECUTE. p_at must be a finite time (22023).
-- Before the first entry everything is zero; a moment before an entry does not see it.
begin;
select plan(11);

select tests.create_user('balance-at-roles-alice@example.test', '00000000-0000-4000-8b05-000000000001');
select tests.create_user('balance-at-roles-bob@example.test', '00000000-0000-4000-8b05-000000000002');
select tests.create_user('balance-at-roles-admin@example.test', '00000000-0000-4000-8b05-000000000003');
select public.grant_tokens('00000000-0000-4000-8b05-000000000001', 100, 'admin_grant', 'balance-at-roles-g1');

select ok(not has_function_privilege('anon', 'public.get_token_balance_at(timestamptz, uuid)', 'execute'),
  'anon has no EXECUTE on get_token_balance_at');
select tests.authenticate_as_anon();
select throws_ok($$select public.get_token_balance_at(now(), '00000000-0000-4000-8b05-000000000001')$$, '42501', null,
  'anon cannot read a balance');

select tests.authenticate_as('00000000-0000-4000-8b05-000000000001');
select is((public.get_token_balance_at(now() + interval '1 second') ->> 'balance')::bigint, 100::bigint,
  'alice reads her own balance after her grant');
select is(public.get_token_balance_at(now()) - 'user_id' - 'at',
  '{"balance": 0, "debt": 0, "held": 0, "available": 0, "lots": [], "lapsed": 0, "last_entry": null}'::jsonb,
  'at the instant of the grant''s transaction the grant is not yet seen: nothing');
select tests.authenticate_as('00000000-0000-4000-8b05-000000000002');
select throws_ok($$select public.get_token_balance_at(now(), '00000000-0000-4000-8b05-000000000001')$$, '42501', null,
  'bob cannot read alice''s balance');
select tests.authenticate_as_admin('00000000-0000-4000-8b05-000000000003');
select is((public.get_token_balance_at(now() + interval '1 second', '00000000-0000-4000-8b05-000000000001') ->> 'balance')::bigint,
  100::bigint, 'an admin reads alice''s balance');
select tests.authenticate_as_service_role();
select is((public.get_token_balance_at(now() + interval '1 second', '00000000-0000-4000-8b05-000000000001') -> 'lots' -> 0 ->> 'remaining')::bigint,
  100::bigint, 'the service reads alice''s lots');
select throws_ok($$select public.get_token_balance_at(now())$$, '22023', null, 'the service must name the user');
select throws_ok($$select public.get_token_balance_at(null, '00000000-0000-4000-8b05-000000000001')$$, '22023', null,
  'a null time is refused');
select throws_ok($$select public.get_token_balance_at('infinity', '00000000-0000-4000-8b05-000000000001')$$, '22023', null,
  'infinity is refused');
select is((public.get_token_balance_at('2000-01-01', '00000000-0000-4000-8b05-000000000009') ->> 'balance')::bigint, 0::bigint,
  'a user without a ledger has nothing at any time');

select * from finish();
rollback;
