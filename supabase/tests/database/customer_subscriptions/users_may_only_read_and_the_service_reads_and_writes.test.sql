-- customer_subscriptions: exact privileges and row level security. anon has nothing; a
-- signed-in user may only read (its own rows, by policy); service_role reads and writes (the
-- webhook, a back office); nobody else writes.
begin;
select plan(8);

select table_privs_are('public', 'customer_subscriptions', 'anon', '{}'::text[], 'anon has no privilege on customer_subscriptions');
select table_privs_are('public', 'customer_subscriptions', 'authenticated', array['SELECT'],
  'authenticated has exactly SELECT on customer_subscriptions');
select table_privs_are('public', 'customer_subscriptions', 'service_role', array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  'service_role has exactly SELECT, INSERT, UPDATE, DELETE on customer_subscriptions');
select ok((select relrowsecurity from pg_class where oid = 'public.customer_subscriptions'::regclass),
  'RLS is enabled on customer_subscriptions');
select policies_are('public', 'customer_subscriptions', array['users read their own rows'], 'one policy');
select policy_cmd_is('public', 'customer_subscriptions', 'users read their own rows', 'select', 'it is a SELECT policy');
select policy_roles_are('public', 'customer_subscriptions', 'users read their own rows', array['authenticated'],
  'for authenticated only');
select is(
  (select pg_get_expr(polqual, polrelid) from pg_policy
    where polrelid = 'public.customer_subscriptions'::regclass and polname = 'users read their own rows'),
  '(( SELECT auth.uid() AS uid) = user_id)', 'rows whose user_id is the caller''s');

select * from finish();
rollback;
