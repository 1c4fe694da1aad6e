-- Rule: no function of ours resolves a name from the caller's temporary schema.
-- With `search_path = ''` PostgreSQL still looks unqualified *type* names up in pg_temp first,
-- and PUBLIC may create temporary objects. A login role in `authenticated` (not a PostgREST
-- client: a direct login) could shadow `uuid`, `text`, `jsonb` or `timestamptz` with a domain
-- whose CHECK calls its own function, which then runs as the definer's owner. Every function in
-- public and private therefore pins `search_path = pg_catalog, pg_temp`: pg_temp named last is
-- searched last, for types and relations alike. The attack is replayed here against the RPCs an
-- authenticated caller may execute, and the setting is checked over the whole catalog so that a
-- new function cannot bring the hole back.
begin;
select plan(5);

select is_empty(
  $$select p.oid::regprocedure::text
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('public', 'private')
       and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
       and not coalesce(p.proconfig @> array['search_path=pg_catalog, pg_temp'], false)$$,
  'every function in public and private pins search_path = pg_catalog, pg_temp');
select is_empty(
  $$select p.oid::regprocedure::text
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('public', 'private') and p.prosecdef
       and exists (select 1 from unnest(p.proconfig) c where c like 'search_path=%' and c <> 'search_path=pg_catalog, pg_temp')$$,
  'no security definer function has any other search_path');


select tests.create_user('attacker@example.com', '00000000-0000-4000-8000-00000000a77a');
create role ledger_test_attacker login in role authenticated;
-- postgres is not a superuser (as on Supabase): it may switch only to a role it belongs to.
grant ledger_test_attacker to current_user;

-- The attacker logs in as its own role, plants the types in its temporary schema, then acts as
-- `authenticated` (it is a member) with a user's claims.
set local role ledger_test_attacker;
-- The payload raises when it runs as anyone but the attacker: a definer function that resolved
-- a shadowed type would fail with 'hijacked'. (pgTAP's own functions resolve the shadowed types
-- too, as the attacker, which proves nothing.)
create function pg_temp.hijack(anyelement) returns boolean language plpgsql as $$
begin
  if current_user::pg_catalog.name operator(pg_catalog.<>) 'ledger_test_attacker'::pg_catalog.name
     and current_user::pg_catalog.name operator(pg_catalog.<>) 'authenticated'::pg_catalog.name then
    raise exception 'hijacked: the caller''s code ran as %', current_user;
  end if;
  return true;
end $$;
create domain pg_temp.uuid as pg_catalog.uuid check (pg_temp.hijack(value));
create domain pg_temp.text as pg_catalog.text check (pg_temp.hijack(value));
create domain pg_temp.jsonb as pg_catalog.jsonb check (pg_temp.hijack(value));
create domain pg_temp.timestamptz as pg_catalog.timestamptz check (pg_temp.hijack(value));
create domain pg_temp.int8 as pg_catalog.int8 check (pg_temp.hijack(value));
create domain pg_temp.bigint as pg_catalog.int8 check (pg_temp.hijack(value));
select tests.authenticate_as('00000000-0000-4000-8000-00000000a77a');

select lives_ok($$select public.get_token_balance()$$, 'get_token_balance does not run code from pg_temp');
select throws_ok($$select public.record_usage(p_feature => 'chat', p_tokens => 1, p_idempotency_key => 'k1')$$,
  'PT402', null, 'record_usage does not run code from pg_temp (and finds no tokens)');
select throws_ok($$select public.reserve_tokens(p_feature => 'chat', p_tokens => 1, p_idempotency_key => 'k2')$$,
  'PT402', null, 'reserve_tokens does not run code from pg_temp (and finds no tokens)');
-- (still acting as authenticated: finish() must not resolve the shadowed types as postgres)
select * from finish();
rollback;
