-- Supabase compatibility layer for a PLAIN PostgreSQL only.
--
-- A real Supabase database (hosted, or `supabase start`) already has everything below; this
-- file is never a migration and is never applied there. It recreates the parts of Supabase's
-- platform that our migrations and tests meet, with Supabase's roles as they are, so that what
-- fails there fails here:
--   * `supabase_admin` is the superuser (the cluster's bootstrap user, scripts/cluster.sh) and
--     runs this file: the platform's set-up, as Supabase's own init scripts do.
--   * `postgres` runs the migrations, the seed, the tests and the pg_cron jobs, and is NOT a
--     superuser: createrole, createdb, replication, bypassrls, and the memberships it has on
--     Supabase. It owns the database (and so may create schemas), as on Supabase.
--   * the API roles with Supabase's attributes and timeouts; `authenticator`, which PostgREST
--     logs in as; `auth.users` owned by `supabase_auth_admin`; the JWT helpers; the
--     `extensions` schema; Supabase's default privileges in `public`.
--   * the extensions the migrations enable. On Supabase, `postgres` may create allow-listed
--     extensions such as pg_cron and pg_partman because supautils runs the statement as a superuser; Debian
--     has no supautils, so the platform creates them here beforehand and the migrations'
--     `create extension if not exists` finds them.
-- The attributes, settings and memberships follow the roles test of Supabase's postgres
-- repository. Safe to run any number of times.

-- Roles -----------------------------------------------------------------------------------

do $$
declare
  r record;
begin
  for r in select * from (values
    ('postgres', 'login'),
    ('anon', 'nologin'),
    ('authenticated', 'nologin'),
    ('service_role', 'nologin'),
    ('authenticator', 'login'),
    ('supabase_auth_admin', 'login'),
    ('supabase_storage_admin', 'login')) as v(name, kind)
  loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      execute format('create role %I %s', r.name, r.kind);
    end if;
  end loop;
end
$$;

-- postgres: what you log in as, what runs migrations and pg_cron jobs. Not a superuser.
alter role postgres nosuperuser createrole createdb replication bypassrls login password 'postgres';
alter role postgres set search_path = "$user", public, extensions;
grant anon, authenticated, service_role, supabase_auth_admin, supabase_storage_admin,
  pg_monitor, pg_read_all_data, pg_signal_backend to postgres;
alter role supabase_admin set search_path = "$user", public, auth, extensions;

-- The API roles, as PostgREST switches to them, with Supabase's statement timeouts.
alter role anon nologin inherit nobypassrls;
alter role authenticated nologin inherit nobypassrls;
alter role service_role nologin inherit bypassrls;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- PostgREST logs in as authenticator and switches to the role the request's JWT names.
-- (Supabase also preloads `safeupdate` for it, which Debian does not package.)
alter role authenticator login noinherit password 'postgres';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
grant anon, authenticated, service_role to authenticator;

-- The platform's service roles (no password: nothing logs in as them here).
alter role supabase_auth_admin noinherit createrole login;
alter role supabase_auth_admin set search_path = auth;
alter role supabase_auth_admin set idle_in_transaction_session_timeout = 60000;
alter role supabase_storage_admin noinherit createrole login;
alter role supabase_storage_admin set search_path = storage;
grant authenticator to supabase_storage_admin;

-- The database belongs to postgres, as on Supabase (so it may create schemas).
alter database postgres owner to postgres;
grant all on database postgres to postgres;

-- Extensions ------------------------------------------------------------------------------

-- They live in their own schema, which postgres owns, as on Supabase.
create schema if not exists extensions;
alter schema extensions owner to postgres;
grant usage on schema extensions to anon, authenticated, service_role;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

-- pg_cron, with the access Supabase gives postgres when it is enabled: schedule and see its
-- own jobs (cron.job only through cron.schedule), read and clean the run history.
create extension if not exists pg_cron with schema pg_catalog;
grant usage on schema cron to postgres with grant option;
grant all on all functions in schema cron to postgres with grant option;
grant all privileges on all tables in schema cron to postgres with grant option;
grant all privileges on all sequences in schema cron to postgres with grant option;
revoke all on table cron.job from postgres;
grant select on table cron.job to postgres with grant option;

-- pg_partman, as Supabase has it: in schema partman, which postgres owns (pg_partman keeps
-- its template tables there), created by the platform's superuser (on Supabase, supautils
-- runs postgres's `create extension pg_partman` as supabase_admin, pg_partman being on its
-- list of privileged extensions), and usable by postgres: its configuration tables and
-- functions. Debian packages pg_partman 4.7; Supabase ships 5.x (the migrations call the
-- functions both share, naming the partition type only where they differ).
create schema if not exists partman;
alter schema partman owner to postgres;
create extension if not exists pg_partman with schema partman;
grant all on all tables in schema partman to postgres;
grant all on all sequences in schema partman to postgres;
grant execute on all functions in schema partman to postgres;
grant execute on all procedures in schema partman to postgres;

-- Realtime ----------------------------------------------------------------------------------

-- Supabase creates this publication empty, owned by postgres; Realtime streams the changes of
-- the tables added to it (postgres_changes). There is no Realtime server here, but the
-- publication exists as it does there, so migrations that add tables to it run the same
-- path. wal_level stays `replica` here (nothing decodes the publication), so creating it
-- warns that it cannot publish yet: not worth a line on every start.
set client_min_messages = error;
do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime with (publish = 'insert, update, delete, truncate');
  end if;
end
$$;
reset client_min_messages;
alter publication supabase_realtime owner to postgres;

-- auth --------------------------------------------------------------------------------------

-- The schema belongs to the platform, its tables to Supabase Auth's role; postgres may use
-- them fully (a sign-up trigger on auth.users, the seed's users) through its grants.
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;
grant usage, create on schema auth to postgres, supabase_auth_admin;

-- The columns of auth.users that applications use.
create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255) unique,
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  is_super_admin boolean,
  is_anonymous boolean not null default false,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  phone text unique,
  banned_until timestamptz,
  deleted_at timestamptz
);
alter table auth.users owner to supabase_auth_admin;
grant all on auth.users to postgres;
grant select on auth.users to service_role;

-- JWT helpers, reading request.jwt.claims exactly as Supabase's do
-- (the legacy per-claim settings first, then the JSON claims PostgREST sets).
create or replace function auth.uid() returns uuid
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to postgres, anon, authenticated, service_role;

-- public: Supabase's grants and default privileges -------------------------------------------

-- What postgres (and the platform) create in public is open to the API roles by default;
-- migrations revoke what a role must not have.
grant usage on schema public to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on sequences to postgres, anon, authenticated, service_role;
