-- EXECUTE on functions. Supabase grants EXECUTE on every new function in public to anon,
-- authenticated and service_role (and Postgres to PUBLIC), so every RPC must revoke and grant
-- back exactly what it is for. The rules are checked over ALL functions in public, so a new
-- RPC that forgets the revoke fails here:
--   * anon may execute no function in public (nothing of ours is for signed-out callers);
--   * PUBLIC holds EXECUTE on no function in public;
--   * the API roles cannot reach schema private, nor execute anything in it;
-- and the core ledger RPCs have exactly their intended grants.
begin;
select plan(7);

-- functions of ours: in public or private, not members of an extension
create view pg_temp.our_functions as
  select p.oid, n.nspname, p.oid::regprocedure::text as signature, p.proacl
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('public', 'private')
     and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e');

select is_empty(
  $$select signature from pg_temp.our_functions where nspname = 'public' and has_function_privilege('anon', oid, 'EXECUTE')$$,
  'anon may execute no function in public');
select is_empty(
  $$select signature from pg_temp.our_functions
     where nspname = 'public'
       and (proacl is null  -- never granted nor revoked: the default, EXECUTE to PUBLIC
            or exists (select 1 from aclexplode(proacl) a where a.grantee = 0 and a.privilege_type = 'EXECUTE'))$$,
  'PUBLIC holds EXECUTE on no function in public');
select is_empty(
  $$select r from unnest(array['anon', 'authenticated', 'service_role']) r where has_schema_privilege(r, 'private', 'USAGE')$$,
  'no API role has USAGE on schema private');
select is_empty(
  $$select signature, r from pg_temp.our_functions, unnest(array['anon', 'authenticated', 'service_role']) r
     where nspname = 'private' and has_function_privilege(r, oid, 'EXECUTE')$$,
  'no API role may execute a function in private');

-- the core ledger RPCs, exactly
select results_eq(
  $$select signature, has_function_privilege('anon', oid, 'EXECUTE'), has_function_privilege('authenticated', oid, 'EXECUTE'),
           has_function_privilege('service_role', oid, 'EXECUTE')
      from pg_temp.our_functions
     where oid in ('public.record_usage(text, bigint, text, uuid, text, jsonb)'::regprocedure,
                   'public.grant_tokens(uuid, bigint, text, text, text, timestamptz, jsonb)'::regprocedure,
                   'public.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb)'::regprocedure,
                   'public.get_token_balance(uuid)'::regprocedure,
                   'public.verify_token_ledger(uuid)'::regprocedure)
     order by signature$$,
  $$values
    ('get_token_balance(uuid)', false, true, true),
    ('grant_tokens(uuid,bigint,text,text,text,timestamp with time zone,jsonb)', false, true, true),
    ('record_purchase(uuid,text,text,bigint,text,text,text,text,text,jsonb)', false, false, true),
    ('record_usage(text,bigint,text,uuid,text,jsonb)', false, true, true),
    ('verify_token_ledger(uuid)', false, false, true)$$,
  'the core ledger RPCs: users call record_usage, grant_tokens (admins only, checked inside) and get_token_balance; the service calls all five');
select is(
  (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.proname in ('record_usage', 'grant_tokens', 'record_purchase', 'get_token_balance', 'verify_token_ledger')),
  5, 'each core RPC has one signature (no stale overload left executable)');
select ok(
  (select bool_and(p.prosecdef and p.proconfig @> array['search_path=pg_catalog, pg_temp'])
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.proname in ('record_usage', 'grant_tokens', 'record_purchase', 'get_token_balance', 'verify_token_ledger')),
  'the core RPCs are security definer with search_path = pg_catalog, pg_temp');

select * from finish();
rollback;
