-- Nobody writes the token tables directly: not anon, not a signed-in user (for itself or for
-- another), not even service_role. Balance changes go through the ledger's RPCs.
-- customer_subscriptions is not ledger: the service writes it (Stripe webhook, back office).
begin;
select plan(20);

select tests.create_user('w-alice@example.test', '00000000-0000-4000-a000-000000000011');

-- Exact privileges: Supabase's default grants (ALL to every API role) must be cut back.
select table_privs_are('public', t, r, p, format('%s has exactly %s on %s', r, p, t))
from (values ('token_transactions'), ('token_usage'), ('token_drips')) as tables(t),
     (values ('anon', '{}'::text[]), ('authenticated', array['SELECT']), ('service_role', array['SELECT'])) as roles(r, p);
select table_privs_are('public', 'customer_subscriptions', 'anon', '{}'::text[], 'anon has no privilege on customer_subscriptions');
select table_privs_are('public', 'customer_subscriptions', 'authenticated', array['SELECT'], 'authenticated may only select customer_subscriptions');
select table_privs_are('public', 'customer_subscriptions', 'service_role', array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  'service_role writes customer_subscriptions (not ledger)');

select ok((select relrowsecurity from pg_class where oid = 'public.token_transactions'::regclass), 'RLS is enabled on token_transactions');
select ok((select relrowsecurity from pg_class where oid = 'public.token_usage'::regclass), 'RLS is enabled on token_usage');
select ok((select relrowsecurity from pg_class where oid = 'public.token_drips'::regclass), 'RLS is enabled on token_drips');
select ok((select relrowsecurity from pg_class where oid = 'public.customer_subscriptions'::regclass), 'RLS is enabled on customer_subscriptions');

select tests.authenticate_as('00000000-0000-4000-a000-000000000011');
select throws_ok(
  $$insert into public.token_usage (user_id, feature, tokens) values ('00000000-0000-4000-a000-000000000011', 'chat', -100)$$,
  '42501', null, 'a user cannot insert usage for itself');
select throws_ok(
  $$insert into public.token_transactions (user_id, transaction_type, token_amount) values ('00000000-0000-4000-a000-000000000011', 'admin_grant', 1000000)$$,
  '42501', null, 'a user cannot grant itself tokens');
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select throws_ok(
  $$insert into public.token_transactions (user_id, transaction_type, token_amount) values ('00000000-0000-4000-a000-000000000011', 'admin_grant', 1)$$,
  '42501', null, 'service_role cannot bypass the RPCs with a direct insert');
select throws_ok('delete from public.token_usage', '42501', null, 'service_role cannot delete usage');
select tests.clear_authentication();

select * from finish();
rollback;
