-- The writes of one record_usage call as plain SQL, no function: what the ledger's tables
-- (their indexes, foreign keys and the lot burn) cost before any plpgsql. Used by the opt-in
-- section bench/20-core-variants.sh. The first lot covers the amount (as in the core setup).
\set uid random(1, :nusers)
\set key random(1, 9000000000000000)
BEGIN;
WITH b AS (
  UPDATE public.token_balances SET balance = balance - 1, updated_at = now()
  WHERE user_id = ('00000000-0000-4000-8000-' || lpad(:uid::text, 12, '0'))::uuid
  RETURNING user_id, balance
)
INSERT INTO public.token_usage (user_id, feature, tokens, metadata, idempotency_key, request_hash, balance_before, balance_after)
SELECT b.user_id, 'chat', 1, '{}', 'sql-' || :client_id || '-' || :key, md5('["chat", 1, null, {}]'), b.balance + 1, b.balance
FROM b
WHERE NOT EXISTS (SELECT 1 FROM public.token_usage u WHERE u.user_id = b.user_id AND u.idempotency_key = 'sql-' || :client_id || '-' || :key);
UPDATE public.token_lots SET remaining = remaining - 1
WHERE id = (SELECT id FROM public.token_lots
            WHERE user_id = ('00000000-0000-4000-8000-' || lpad(:uid::text, 12, '0'))::uuid
              AND remaining > 0 AND (expires_at IS NULL OR expires_at > now())
            ORDER BY expires_at NULLS LAST, created_at, id LIMIT 1)
  AND remaining >= 1;
COMMIT;
