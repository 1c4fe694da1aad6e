-- Setup of the core ledger benchmark (bench/10-core.sh), as postgres.
--   psql -v nusers=10000 -v grant=1000000000
-- The floor: bare tables, no constraints beyond primary keys, no RLS, no triggers.
-- The ledger: nusers users in auth.users, each granted `grant` tokens through
-- public.grant_tokens (postgres is trusted like the service).
\set ON_ERROR_STOP on

create schema if not exists bench; -- other sections may have made it

create table bench.floor_balances (user_id int primary key, balance bigint);
insert into bench.floor_balances select i, :grant from generate_series(1, :nusers) i;

create table bench.floor_usage (
  id bigserial primary key,
  user_id int,
  tokens bigint,
  created_at timestamptz default now()
);

-- User i of the benchmark: 00000000-0000-4000-8000-<i, 12 digits>.
create function bench.user_id(i int) returns uuid
language sql immutable
as $$ select ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid $$;

insert into auth.users (id, aud, role, email, created_at, updated_at)
select bench.user_id(i), 'authenticated', 'authenticated', 'bench-' || i || '@example.test', now(), now()
from generate_series(1, :nusers) i;

select count(*) as granted
from (
  select public.grant_tokens(p_user_id => bench.user_id(i), p_amount => :grant, p_type => 'admin_grant',
                             p_idempotency_key => 'bench-grant-' || i)
  from generate_series(1, :nusers) i
) g;

vacuum analyze;
