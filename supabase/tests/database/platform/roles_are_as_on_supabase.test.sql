-- The roles are Supabase's, so that what fails there fails here: `postgres` (which runs the
-- migrations, the seed, these tests and the pg_cron jobs) is not a superuser; the API roles
-- carry Supabase's timeouts; PostgREST's `authenticator` does not inherit. Locally
-- scripts/local/supabase-compat.sql makes them; on a Supabase stack the platform does.
begin;
select plan(8);

select is(
  (select row(rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin)::text
     from pg_roles where rolname = 'postgres'),
  '(f,t,t,t,t,t)', 'postgres: no superuser; createrole, createdb, replication, bypassrls, login');
select ok(not (select rolsuper from pg_roles where rolname = session_user), 'the tests run as a non-superuser');
select ok(
  (select rolsuper from pg_roles where rolname = 'supabase_admin'), 'supabase_admin is the superuser');
select ok(
  (select rolconfig @> array['statement_timeout=3s'] from pg_roles where rolname = 'anon'),
  'anon: statement_timeout 3s');
select ok(
  (select rolconfig @> array['statement_timeout=8s'] from pg_roles where rolname = 'authenticated'),
  'authenticated: statement_timeout 8s');
select is(
  (select row(rolcanlogin, rolinherit, rolsuper, rolbypassrls,
       rolconfig @> array['statement_timeout=8s', 'lock_timeout=8s'])::text
     from pg_roles where rolname = 'authenticator'),
  '(t,f,f,f,t)', 'authenticator: login, noinherit, statement and lock timeouts of 8s');
select is(
  array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid
         where m.member = 'authenticator'::regrole and g.rolname in ('anon', 'authenticated', 'service_role')
         order by 1),
  array['anon', 'authenticated', 'service_role'], 'authenticator may become anon, authenticated and service_role');
select is(
  array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid
         where m.member = 'postgres'::regrole
           and g.rolname in ('anon', 'authenticated', 'service_role', 'pg_read_all_data', 'pg_signal_backend', 'supabase_auth_admin')
         order by 1),
  array['anon', 'authenticated', 'pg_read_all_data', 'pg_signal_backend', 'service_role', 'supabase_auth_admin'],
  'postgres belongs to the API roles, pg_read_all_data, pg_signal_backend and supabase_auth_admin');

select * from finish();
rollback;
