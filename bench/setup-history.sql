-- History for bench/60-history.sh: `rows` token_usage rows spread over the `nusers` benchmark
-- users and over the twelve months before the runs (from 8 days to 358 days ago: outside the
-- usage key window, in the monthly partitions of a year), as record_usage writes them.
--   psql -v rows=10000000 -v nusers=10000
-- Balances and lots go down by the same amount, so verify_token_ledger() stays empty.
\set ON_ERROR_STOP on
select (:rows / :nusers)::int as per_user \gset

begin;
insert into public.token_usage (user_id, feature, tokens, metadata, idempotency_key, request_hash,
                                balance_before, balance_after, is_legacy, created_at)
select b.user_id, 'chat', 1, '{}'::jsonb, 'bench-history-' || i || '-' || k,
       md5(jsonb_build_array('chat', 1, null::text, '{}'::jsonb)::text),
       b.balance - (k - 1), b.balance - k, false,
       now() - interval '358 days' + (k::float8 / :per_user) * interval '350 days'
from generate_series(1, :nusers) i
join public.token_balances b on b.user_id = bench.user_id(i)
cross join generate_series(1, :per_user) k;

update public.token_balances b set balance = b.balance - :per_user, updated_at = now()
where b.user_id in (select bench.user_id(i) from generate_series(1, :nusers) i);

update public.token_lots l set remaining = l.remaining - :per_user
where l.user_id in (select bench.user_id(i) from generate_series(1, :nusers) i) and l.remaining > 0;
commit;

vacuum analyze public.token_usage;
