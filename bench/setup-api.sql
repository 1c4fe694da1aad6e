-- Setup of the API benchmark (bench/50-api.sh), as postgres.
--   psql -v nusers=1000 -v grant=1000000000
-- The callers: nusers users (bench-api-<i>@example.test), each granted `grant` tokens. And the
-- no-op RPC the benchmark compares record_usage with: the same arguments, the same grants
-- and settings as an RPC of ours, no work. It exists only in the bench database.
\set ON_ERROR_STOP on

insert into auth.users (id, aud, role, email, raw_app_meta_data, created_at, updated_at)
select ('00000000-0000-4000-a000-' || lpad(i::text, 12, '0'))::uuid, 'authenticated', 'authenticated',
       'bench-api-' || i || '@example.test', '{"provider": "email", "providers": ["email"]}', now(), now()
from generate_series(1, :nusers) i;

select count(*) as granted
from (
  select public.grant_tokens(p_user_id => ('00000000-0000-4000-a000-' || lpad(i::text, 12, '0'))::uuid,
                             p_amount => :grant, p_type => 'admin_grant', p_idempotency_key => 'bench-api-grant-' || i)
  from generate_series(1, :nusers) i
) g;

create function public.bench_noop(p_feature text, p_tokens bigint, p_idempotency_key text)
returns jsonb
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$ select pg_catalog.jsonb_build_object('ok', true) $$;
revoke execute on function public.bench_noop(text, bigint, text) from public, anon, authenticated, service_role;
grant execute on function public.bench_noop(text, bigint, text) to authenticated;

-- PostgREST sees the new function.
notify pgrst, 'reload schema';

vacuum analyze;
