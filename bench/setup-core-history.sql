-- Give the ledger a history before run (d) of bench/10-core.sh: `rows` token_usage rows spread
-- evenly over the `nusers` benchmark users, loaded set-based as postgres.
--   psql -v rows=1000000 -v nusers=10000
-- Each row is a 1-token `chat` usage as record_usage writes it (ledger check: balance_after =
-- balance_before - tokens, an idempotency key, unique per load so that a second load adds to the
-- first, is_legacy false). Balances and lots go down by
-- the same amount, so verify_token_ledger() stays empty. The append-only trigger blocks only
-- UPDATE and DELETE; the foreign keys are checked as usual.
\set ON_ERROR_STOP on
select (:rows / :nusers)::int as per_user \gset

begin;
-- Older than anything the runs wrote: the history came first.
insert into public.token_usage (user_id, feature, tokens, metadata, idempotency_key, request_hash,
                                balance_before, balance_after, is_legacy, created_at)
select b.user_id, 'chat', 1, '{}'::jsonb, 'bench-history-' || txid_current() || '-' || i || '-' || k,
       md5(jsonb_build_array('chat', 1, null::text, '{}'::jsonb)::text),
       b.balance - (k - 1), b.balance - k, false,
       now() - interval '1 day' - (:per_user - k) * interval '5 minutes'
from generate_series(1, :nusers) i
join public.token_balances b on b.user_id = bench.user_id(i)
cross join generate_series(1, :per_user) k
order by i, k;

update public.token_balances b set balance = b.balance - :per_user, updated_at = now()
where b.user_id in (select bench.user_id(i) from generate_series(1, :nusers) i);

-- setup-core.sql gave each user one lot; usage only ever burns it.
update public.token_lots l set remaining = l.remaining - :per_user
where l.user_id in (select bench.user_id(i) from generate_series(1, :nusers) i) and l.remaining > 0;
commit;

vacuum analyze;
