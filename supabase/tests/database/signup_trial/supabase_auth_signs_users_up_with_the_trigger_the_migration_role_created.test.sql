-- On Supabase, Auth inserts users as supabase_auth_admin, which has no rights on the ledger,
-- and migrations run as postgres, which is not a superuser and does not own auth.users. The
-- trigger the migration created (as postgres, as on Supabase) grants the trial to a user that
-- supabase_auth_admin inserts, through its security definer function.
begin;
select plan(6);

select is((select rolsuper from pg_roles where rolname = 'postgres'), false, 'postgres is not a superuser');
select isnt((select pg_get_userbyid(relowner)::text from pg_class where oid = 'auth.users'::regclass), 'postgres',
  'postgres does not own auth.users');
select is(
  (select format('%s enabled=%s security_definer=%s owner=%s', t.tgfoid::regprocedure, t.tgenabled, p.prosecdef,
                 pg_get_userbyid(p.proowner))
     from pg_trigger t join pg_proc p on p.oid = t.tgfoid
    where t.tgrelid = 'auth.users'::regclass and t.tgname = 'token_ledger_signup_trial'),
  'private.signup_trial_trigger() enabled=O security_definer=t owner=postgres',
  'the sign-up trigger on auth.users runs a security definer function of postgres');
select is(has_schema_privilege('supabase_auth_admin', 'private', 'usage'), false,
  'supabase_auth_admin has no access to the private schema');

select public.update_ledger_settings('{"trial_tokens": 2500}');
set local role supabase_auth_admin;
insert into auth.users (id, aud, role, email) values
  ('00000000-0000-4000-e104-000000000001', 'authenticated', 'authenticated', 'st-auth@example.test');
reset role;
select is(tests.ledger_footprint('00000000-0000-4000-e104-000000000001'), 'balance=2500 lots=1 remaining=2500 transactions=1',
  'a user inserted by supabase_auth_admin gets the trial');
select is((select count(*)::int from public.signup_trial_failures where user_id = '00000000-0000-4000-e104-000000000001'), 0,
  'without a failure');

select * from finish();
rollback;
