-- The floor: the least work a debit can be, on bare tables (bench/setup-core.sql).
-- One transaction = one conditional UPDATE of the balance + one INSERT of the usage row.
-- -D nusers=N picks the user among 1..N (nusers=1: one hot row).
\set uid random(1, :nusers)
BEGIN;
UPDATE bench.floor_balances SET balance = balance - 1 WHERE user_id = :uid AND balance >= 1;
INSERT INTO bench.floor_usage (user_id, tokens) VALUES (:uid, 1);
COMMIT;
