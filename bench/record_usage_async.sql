-- bench/record_usage.sql with synchronous_commit off for the transaction: its COMMIT returns
-- before the WAL flush, so the balance row's lock is no longer held through the flush.
\set uid random(1, :nusers)
BEGIN;
SET LOCAL ROLE service_role;
SET LOCAL synchronous_commit = off;
SELECT public.record_usage(p_feature => 'chat', p_tokens => 1, p_idempotency_key => gen_random_uuid()::text, p_user_id => ('00000000-0000-4000-8000-' || lpad(:uid::text, 12, '0'))::uuid);
COMMIT;
