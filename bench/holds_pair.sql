-- A reserve + settle pair as a streaming call makes it: two requests, so two transactions
-- (reserve before the AI call, settle after it), each as the service calls it (PostgREST
-- switches to service_role). The settle names the hold the reserve returned (\gset).
-- One pgbench transaction = one pair. Users are bench/setup-core.sql's; -D nusers=N picks
-- the user among 1..N. Needs -M simple: the hold id is passed in a quoted literal.
\set uid random(1, :nusers)
BEGIN;
SET LOCAL ROLE service_role;
SELECT public.reserve_tokens(p_feature => 'chat', p_tokens => 10, p_idempotency_key => gen_random_uuid()::text, p_user_id => ('00000000-0000-4000-8000-' || lpad(:uid::text, 12, '0'))::uuid) ->> 'hold_id' AS hold_id \gset
COMMIT;
BEGIN;
SET LOCAL ROLE service_role;
SELECT public.settle_hold(p_hold_id => ':hold_id', p_tokens_used => 7);
COMMIT;
