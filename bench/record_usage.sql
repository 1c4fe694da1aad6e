-- One public.record_usage call per transaction, as the service calls it (PostgREST switches to
-- service_role). Users are bench/setup-core.sql's: user i has the uuid below.
-- -D nusers=N picks the user among 1..N (nusers=1: one hot user).
\set uid random(1, :nusers)
BEGIN;
SET LOCAL ROLE service_role;
SELECT public.record_usage(p_feature => 'chat', p_tokens => 1, p_idempotency_key => gen_random_uuid()::text, p_user_id => ('00000000-0000-4000-8000-' || lpad(:uid::text, 12, '0'))::uuid);
COMMIT;
