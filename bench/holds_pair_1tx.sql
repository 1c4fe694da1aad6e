-- For reference only: bench/holds_pair.sql with both calls in one transaction, as no real
-- client makes them (the AI call runs between them). Shows what the second transaction costs.
\set uid random(1, :nusers)
BEGIN;
SET LOCAL ROLE service_role;
SELECT public.reserve_tokens(p_feature => 'chat', p_tokens => 10, p_idempotency_key => gen_random_uuid()::text, p_user_id => ('00000000-0000-4000-8000-' || lpad(:uid::text, 12, '0'))::uuid) ->> 'hold_id' AS hold_id \gset
SELECT public.settle_hold(p_hold_id => ':hold_id', p_tokens_used => 7);
COMMIT;
