-- Exact privileges and row level security on the ledger's state and catalog tables.
-- Supabase grants ALL on new public tables to anon, authenticated and service_role; these
-- must be cut back to: balances and lots readable by the user (own rows) and the service;
-- catalogs readable by everyone and managed (insert/update, never delete) by the service.
begin;
select plan(23);

select table_privs_are('public', t, r, p, format('%s has exactly %s on %s', r, p, t))
from (values
  ('token_balances', 'anon', '{}'::text[]),
  ('token_balances', 'authenticated', array['SELECT']),
  ('token_balances', 'service_role', array['SELECT']),
  ('token_lots', 'anon', '{}'::text[]),
  ('token_lots', 'authenticated', array['SELECT']),
  ('token_lots', 'service_role', array['SELECT']),
  ('token_features', 'anon', array['SELECT']),
  ('token_features', 'authenticated', array['SELECT']),
  ('token_features', 'service_role', array['INSERT', 'SELECT', 'UPDATE']),
  ('token_packs', 'anon', array['SELECT']),
  ('token_packs', 'authenticated', array['SELECT']),
  ('token_packs', 'service_role', array['INSERT', 'SELECT', 'UPDATE'])
) as x(t, r, p);

select ok((select relrowsecurity from pg_class where oid = format('public.%I', t)::regclass), format('RLS is enabled on %s', t))
  from unnest(array['token_balances', 'token_lots', 'token_features', 'token_packs']) t;

select policies_are('public', 'token_balances', array['users read their own rows'], 'token_balances has only the own-rows policy');
select policies_are('public', 'token_lots', array['users read their own rows'], 'token_lots has only the own-rows policy');
select policies_are('public', 'token_features', array['anyone reads active features'], 'token_features has only the read-active policy');
select policies_are('public', 'token_packs', array['anyone reads active packs'], 'token_packs has only the read-active policy');

select policy_cmd_is('public', 'token_balances', 'users read their own rows', 'select', 'the token_balances policy is for SELECT only');
select policy_cmd_is('public', 'token_lots', 'users read their own rows', 'select', 'the token_lots policy is for SELECT only');
select policy_roles_are('public', 'token_balances', 'users read their own rows', array['authenticated'],
  'the token_balances policy applies to authenticated only');

select * from finish();
rollback;
