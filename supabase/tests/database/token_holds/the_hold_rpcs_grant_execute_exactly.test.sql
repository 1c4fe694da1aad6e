-- Exact EXECUTE privileges of the hold RPCs: reserve, settle and release for authenticated
-- and service_role (the functions decide whose hold), expire_holds for service_role only,
-- nothing for anon or PUBLIC; the private helpers for no API role.
begin;
select plan(10);

select function_privs_are('public', f, args, 'anon', '{}'::text[], format('anon cannot execute %s', f))
from (values ('reserve_tokens', array['text', 'bigint', 'text', 'uuid', 'integer']),
             ('settle_hold', array['uuid', 'bigint', 'text', 'jsonb']),
             ('release_hold', array['uuid']),
             ('expire_holds', array['timestamp with time zone'])) as fns(f, args);
select ok(
  (select bool_and(has_function_privilege('authenticated', p, 'execute') and has_function_privilege('service_role', p, 'execute'))
     from unnest(array['public.reserve_tokens(text, bigint, text, uuid, integer)', 'public.settle_hold(uuid, bigint, text, jsonb)',
                       'public.release_hold(uuid)']) p),
  'authenticated and service_role may execute reserve_tokens, settle_hold and release_hold');
select ok(not has_function_privilege('authenticated', 'public.expire_holds(timestamptz)', 'execute')
          and has_function_privilege('service_role', 'public.expire_holds(timestamptz)', 'execute'),
  'expire_holds: service_role only');
select is_empty(
  $$select p.oid::regprocedure from pg_proc p
     where p.oid in ('public.reserve_tokens(text, bigint, text, uuid, integer)'::regprocedure,
                     'public.settle_hold(uuid, bigint, text, jsonb)'::regprocedure,
                     'public.release_hold(uuid)'::regprocedure, 'public.expire_holds(timestamptz)'::regprocedure)
       and exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    where a.grantee = 0 and a.privilege_type = 'EXECUTE')$$,
  'PUBLIC has no EXECUTE on any hold RPC');
select ok(
  (select bool_and(prosecdef) from pg_proc
    where oid in ('public.reserve_tokens(text, bigint, text, uuid, integer)'::regprocedure,
                  'public.settle_hold(uuid, bigint, text, jsonb)'::regprocedure,
                  'public.release_hold(uuid)'::regprocedure, 'public.expire_holds(timestamptz)'::regprocedure)),
  'the hold RPCs are security definer (they write what the caller may not)');
select is_empty(
  $$select p.oid::regprocedure, r from pg_proc p
      cross join unnest(array['anon', 'authenticated', 'service_role']) r
     where p.oid in ('private.held_tokens(uuid, timestamptz, uuid)'::regprocedure,
                     'private.available_tokens(uuid, timestamptz)'::regprocedure,
                     'private.lock_hold(uuid)'::regprocedure,
                     'private.settle_result(public.token_holds, boolean)'::regprocedure)
       and has_function_privilege(r, p.oid, 'execute')$$,
  'no API role may execute the private hold helpers');
select ok(
  (select bool_and(coalesce(array_to_string(p.proconfig, ','), '') like '%search_path=pg_catalog, pg_temp%')
     from pg_proc p
    where p.oid in ('public.reserve_tokens(text, bigint, text, uuid, integer)'::regprocedure,
                    'public.settle_hold(uuid, bigint, text, jsonb)'::regprocedure,
                    'public.release_hold(uuid)'::regprocedure, 'public.expire_holds(timestamptz)'::regprocedure)),
  'the hold RPCs run with search_path = pg_catalog, pg_temp');

select * from finish();
rollback;
