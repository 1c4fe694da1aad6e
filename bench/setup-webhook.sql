-- Setup of the webhook benchmark (bench/40-webhook.sh), as postgres.
--   psql -v nusers=1000
-- The buyers (bench-webhook-<i>@example.test in auth.users) and the pack they buy: the bench
-- cluster has no seed, so the pack comes from here.
\set ON_ERROR_STOP on

insert into auth.users (id, aud, role, email, created_at, updated_at)
select ('00000000-0000-4000-9000-' || lpad(i::text, 12, '0'))::uuid, 'authenticated', 'authenticated',
       'bench-webhook-' || i || '@example.test', now(), now()
from generate_series(1, :nusers) i;

insert into public.token_packs (id, stripe_price_id, name, tokens)
values ('bench_pack', 'price_bench_pack', 'Bench pack', 1000);

vacuum analyze;
