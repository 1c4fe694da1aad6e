-- Nobody writes token_holds directly: anon has no privilege at all; authenticated and
-- service_role may only SELECT (RLS for users); holds change only through the RPCs.
begin;
select plan(17);

select tests.create_user('th-write-alice@example.test', '00000000-0000-4000-b502-000000000001', 100);
select set_config('test.h', public.reserve_tokens('chat', 40, 'th-write-h', '00000000-0000-4000-b502-000000000001') ->> 'hold_id', true);

-- exact privileges: Supabase's default grants (ALL to every API role) were cut back
select table_privs_are('public', 'token_holds', 'anon', '{}'::text[], 'anon has no privilege on token_holds');
select table_privs_are('public', 'token_holds', 'authenticated', array['SELECT'], 'authenticated has exactly SELECT on token_holds');
select table_privs_are('public', 'token_holds', 'service_role', array['SELECT'], 'service_role has exactly SELECT on token_holds');
select ok(not exists (select 1 from information_schema.column_privileges
                       where table_schema = 'public' and table_name = 'token_holds'
                         and grantee in ('anon', 'authenticated', 'service_role') and privilege_type <> 'SELECT'),
  'no column-level write privilege either');
select ok((select relrowsecurity from pg_class where oid = 'public.token_holds'::regclass), 'RLS is enabled on token_holds');
select policies_are('public', 'token_holds', array['users read their own rows'], 'one policy: users read their own rows');
select policy_cmd_is('public', 'token_holds', 'users read their own rows', 'select', 'and it is for SELECT only');
select policy_roles_are('public', 'token_holds', 'users read their own rows', array['authenticated'], 'for authenticated only');

-- a user cannot give itself a hold, lengthen one, shrink one or delete one
select tests.authenticate_as('00000000-0000-4000-b502-000000000001');
select throws_ok(
  $$insert into public.token_holds (user_id, feature, tokens_held, idempotency_key, request_hash, expires_at, available_after)
    values ('00000000-0000-4000-b502-000000000001', 'chat', 1, 'mine', 'x', now() + interval '1 day', 0)$$,
  '42501', null, 'a user cannot insert a hold');
select throws_ok($$update public.token_holds set expires_at = now() + interval '1 year' where id = current_setting('test.h')::uuid$$,
  '42501', null, 'a user cannot lengthen its hold');
select throws_ok($$update public.token_holds set tokens_held = 1 where id = current_setting('test.h')::uuid$$,
  '42501', null, 'a user cannot shrink its hold');
select throws_ok($$update public.token_holds set status = 'released' where id = current_setting('test.h')::uuid$$,
  '42501', null, 'a user cannot close its hold by hand');
select throws_ok($$delete from public.token_holds where id = current_setting('test.h')::uuid$$, '42501', null,
  'a user cannot delete its hold');
select tests.clear_authentication();

-- nor can the service bypass the RPCs
select tests.authenticate_as_service_role();
select throws_ok($$update public.token_holds set status = 'expired' where id = current_setting('test.h')::uuid$$,
  '42501', null, 'service_role cannot update a hold directly');
select throws_ok($$delete from public.token_holds$$, '42501', null, 'service_role cannot delete holds');
select throws_ok(
  $$insert into public.token_holds (user_id, feature, tokens_held, idempotency_key, request_hash, expires_at, available_after)
    values ('00000000-0000-4000-b502-000000000001', 'chat', 1, 'svc', 'x', now() + interval '1 day', 0)$$,
  '42501', null, 'service_role cannot insert a hold directly');
select tests.clear_authentication();

select results_eq(
  $$select tokens_held, status, expires_at = now() + interval '600 seconds' from public.token_holds
     where user_id = '00000000-0000-4000-b502-000000000001'$$,
  $$values (40::bigint, 'held'::text, true)$$, 'the hold is as reserve_tokens left it');

select * from finish();
rollback;
