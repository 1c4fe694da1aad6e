-- get_token_balance_at: p_at must be a finite time (22023). A moment before an entry does not
-- see it (at the instant of its own transaction a grant is not yet seen); before a user's
-- first entry everything is zero. Who may read whose balance: see
-- security/users_read_their_own_ledger_admins_and_the_service_anyones.test.sql.
begin;
select plan(4);

select tests.create_user('balance-at-roles-alice@example.test', '00000000-0000-4000-8b05-000000000001');
select public.grant_tokens('00000000-0000-4000-8b05-000000000001', 100, 'admin_grant', 'balance-at-roles-g1');

select tests.authenticate_as('00000000-0000-4000-8b05-000000000001');
select is(public.get_token_balance_at(now()) - 'user_id' - 'at',
  '{"balance": 0, "debt": 0, "held": 0, "available": 0, "lots": [], "lapsed": 0, "last_entry": null}'::jsonb,
  'at the instant of the grant''s transaction the grant is not yet seen: nothing');
select tests.authenticate_as_service_role();
select throws_ok($$select public.get_token_balance_at(null, '00000000-0000-4000-8b05-000000000001')$$, '22023', null,
  'a null time is refused');
select throws_ok($$select public.get_token_balance_at('infinity', '00000000-0000-4000-8b05-000000000001')$$, '22023', null,
  'infinity is refused');
select is((public.get_token_balance_at('2000-01-01', '00000000-0000-4000-8b05-000000000009') ->> 'balance')::bigint, 0::bigint,
  'a user without a ledger has nothing at any time');

select * from finish();
rollback;
