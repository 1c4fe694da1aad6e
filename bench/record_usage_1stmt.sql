-- bench/record_usage.sql as one autocommitted statement, as postgres (trusted like the
-- service): the balance row's lock is then held only inside the server, from record_usage's
-- UPDATE to the commit, not across the client's round trip between the SELECT and its COMMIT.
\set uid random(1, :nusers)
SELECT public.record_usage(p_feature => 'chat', p_tokens => 1, p_idempotency_key => gen_random_uuid()::text, p_user_id => ('00000000-0000-4000-8000-' || lpad(:uid::text, 12, '0'))::uuid);
