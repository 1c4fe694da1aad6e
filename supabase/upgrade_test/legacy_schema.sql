-- The product's database as it is before this project: the seed's tables with rows
-- (shared/seed/existing-token-tables.md), on top of the Supabase compatibility layer.
-- Run by scripts/test-upgrade.sh before the migrations; supabase/upgrade_test/*.test.sql
-- then check that the migrations kept every row and carried every balance forward.
--
-- Users (fixed ids, the cluster is thrown away after each run):
--   alice  transactions and drips; her latest row is a drip, one second after a transaction
--   bob    drips, then transactions; the latest rows carry NULL type/amounts/balances
--   carol  only usage rows (no balance recorded anywhere: opening balance 0)
--   dave   a deduction took him below zero (-1500: debt)
--   erin   a grant, and usage rows that are really purchases and grants (mis-filed)
--   frank  amounts and balances at the INTEGER maximum
--   grace  drips only, one of them undated (created_at NULL)
--   heidi  a balance at the INTEGER minimum
--   judy   one transaction row with nothing but NULLs (no balance: opening balance 0)
--   ivan   no token history at all (no opening balance)
-- and three subscribers whose last drips are recent (dated from the hour the upgrade runs, H),
-- whose drip tokens and 28-day schedules the upgrade must carry forward:
--   kim    cycles 6 (H-48d) and 7 (H-20d), purchases before and after: linked to Stripe on
--          upgrade day, before her cycle 8 (H+8d) is due
--   lena   cycles 2 (H-38d) and 3 (H-10d): never linked; Stripe tells of her subscription
--          after the upgrade, on a grid 6 hours off the legacy one
--   noor   cycle 4 (H-30d): linked after her cycle 5 came due (H-2d)
\set ON_ERROR_STOP on
begin;

insert into auth.users (id, email) values
  ('a0000000-0000-4000-8000-000000000001', 'alice@legacy.test'),
  ('b0000000-0000-4000-8000-000000000002', 'bob@legacy.test'),
  ('c0000000-0000-4000-8000-000000000003', 'carol@legacy.test'),
  ('d0000000-0000-4000-8000-000000000004', 'dave@legacy.test'),
  ('e0000000-0000-4000-8000-000000000005', 'erin@legacy.test'),
  ('f0000000-0000-4000-8000-000000000006', 'frank@legacy.test'),
  ('70000000-0000-4000-8000-000000000007', 'grace@legacy.test'),
  ('80000000-0000-4000-8000-000000000008', 'heidi@legacy.test'),
  ('90000000-0000-4000-8000-000000000009', 'ivan@legacy.test'),
  ('10000000-0000-4000-8000-000000000010', 'judy@legacy.test'),
  ('b1000000-0000-4000-8000-000000000011', 'kim@legacy.test'),
  ('b2000000-0000-4000-8000-000000000012', 'lena@legacy.test'),
  ('b3000000-0000-4000-8000-000000000013', 'noor@legacy.test');

-- The product's subscriptions table (only what token_drips needs), created before token_drips.
create table customer_subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references auth.users(id) on delete cascade
);

-- token_transactions and token_drips: the seed's DDL, verbatim.
CREATE TABLE IF NOT EXISTS token_transactions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
    transaction_type TEXT,
    token_amount INTEGER,
    balance_before INTEGER,
    balance_after INTEGER,
    source TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE IF NOT EXISTS token_drips (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  subscription_id UUID REFERENCES customer_subscriptions(id) ON DELETE SET NULL,
  drip_amount INTEGER NOT NULL,
  drip_date TIMESTAMP DEFAULT NOW(),
  cycle_number INTEGER NOT NULL,
  rollover_from_previous INTEGER DEFAULT 0,
  rollover_cycles_count INTEGER DEFAULT 0,
  expired_tokens INTEGER DEFAULT 0,
  balance_before INTEGER NOT NULL,
  balance_after INTEGER NOT NULL,
  billing_period_start TIMESTAMP,
  billing_period_end TIMESTAMP,
  metadata JSONB,
  created_at TIMESTAMP DEFAULT NOW()
);

-- token_usage: the seed document gives no DDL; this is the shape the product writes.
create table token_usage (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users(id) on delete cascade,
  feature text not null,
  tokens integer not null,
  model text,
  metadata jsonb,
  created_at timestamptz not null default now()
);

-- Legacy rows. Usage in between was never written to token_transactions, so a row's
-- balance_before need not match the previous row's balance_after: only the latest row tells.
insert into customer_subscriptions (id, user_id) values
  ('5a000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-000000000001'),
  ('5b000000-0000-4000-8000-00000000000b', 'b0000000-0000-4000-8000-000000000002'),
  ('57000000-0000-4000-8000-000000000007', '70000000-0000-4000-8000-000000000007'),
  ('5b100000-0000-4000-8000-000000000011', 'b1000000-0000-4000-8000-000000000011'),
  ('5b200000-0000-4000-8000-000000000012', 'b2000000-0000-4000-8000-000000000012'),
  ('5b300000-0000-4000-8000-000000000013', 'b3000000-0000-4000-8000-000000000013');

insert into token_transactions (user_id, transaction_type, token_amount, balance_before, balance_after, source, created_at) values
  -- alice
  ('a0000000-0000-4000-8000-000000000001', 'trial_grant', 10000, 0, 10000, 'signup', '2025-01-01 09:00:00+00'),
  ('a0000000-0000-4000-8000-000000000001', 'purchase', 50000, 8200, 58200, 'stripe', '2025-01-10 17:45:12.345678+00'),
  ('a0000000-0000-4000-8000-000000000001', 'admin_deduction', -25000, 162655, 137655, 'admin', '2025-03-12 07:59:59+00'),
  -- bob: the NULL rows are the latest; his balance is the purchase's
  ('b0000000-0000-4000-8000-000000000002', 'purchase', 50000, 40000, 90000, 'stripe', '2025-04-01 12:00:00+00'),
  ('b0000000-0000-4000-8000-000000000002', null, null, null, 374000, 'import_2024', '2025-03-01 00:00:00+00'),
  ('b0000000-0000-4000-8000-000000000002', null, null, null, null, null, '2025-04-02 00:00:00+00'),
  ('b0000000-0000-4000-8000-000000000002', 'admin_grant', 500, null, null, 'admin', '2025-04-03 00:00:00+00'),
  -- dave: a deduction after spending took him below zero
  ('d0000000-0000-4000-8000-000000000004', 'trial_grant', 1000, 0, 1000, 'signup', '2025-02-01 10:00:00+00'),
  ('d0000000-0000-4000-8000-000000000004', 'admin_deduction', -2500, 1000, -1500, 'chargeback', '2025-02-20 10:00:00+00'),
  -- erin
  ('e0000000-0000-4000-8000-000000000005', 'admin_grant', 20000, 0, 20000, 'admin', '2025-01-05 08:00:00+00'),
  -- frank: the INTEGER maximum
  ('f0000000-0000-4000-8000-000000000006', 'purchase', 2147483647, 0, 2147483647, 'stripe', '2025-05-01 00:00:00+00'),
  ('f0000000-0000-4000-8000-000000000006', 'admin_deduction', -2147483647, 2147483647, 0, 'admin', '2025-04-01 00:00:00+00'),
  -- heidi: the INTEGER minimum
  ('80000000-0000-4000-8000-000000000008', 'admin_deduction', -2147483648, 0, -2147483648, 'admin', '2025-06-01 00:00:00+00'),
  -- judy: a row with nothing in it
  ('10000000-0000-4000-8000-000000000010', null, null, null, null, null, '2025-06-15 00:00:00+00');

insert into token_drips (user_id, subscription_id, drip_amount, drip_date, cycle_number, rollover_from_previous,
                         rollover_cycles_count, expired_tokens, balance_before, balance_after,
                         billing_period_start, billing_period_end, metadata, created_at) values
  -- alice: the latest of all her rows (08:00:00 UTC, one second after her deduction)
  ('a0000000-0000-4000-8000-000000000001', '5a000000-0000-4000-8000-00000000000a', 375000, '2025-01-15 08:00:00', 1, 0,
   0, 0, 58200, 433200, '2025-01-15 00:00:00', '2025-02-12 00:00:00', '{"plan": "pro"}', '2025-01-15 08:00:00'),
  ('a0000000-0000-4000-8000-000000000001', '5a000000-0000-4000-8000-00000000000a', 375000, '2025-02-12 08:00:00', 2, 120000,
   1, 0, 120000, 495000, '2025-02-12 00:00:00', '2025-03-12 00:00:00', '{"plan": "pro"}', '2025-02-12 08:00:00'),
  ('a0000000-0000-4000-8000-000000000001', '5a000000-0000-4000-8000-00000000000a', 375000, '2025-03-12 08:00:00', 3, 137655,
   2, 310000, 137345, 512345, '2025-03-12 00:00:00', '2025-04-09 00:00:00', '{"plan": "pro", "note": "rollover capped"}',
   '2025-03-12 08:00:00'),
  -- bob: drips before his transactions
  ('b0000000-0000-4000-8000-000000000002', '5b000000-0000-4000-8000-00000000000b', 375000, '2025-02-01 00:00:00', 1, 0,
   0, 0, 0, 375000, '2025-02-01 00:00:00', '2025-03-01 00:00:00', null, '2025-02-01 00:00:00'),
  -- dave: an old drip, before his deduction
  ('d0000000-0000-4000-8000-000000000004', null, 375000, null, 1, null,
   null, null, 0, 375000, null, null, null, '2025-01-01 00:00:00'),
  -- frank: the INTEGER maximum everywhere, older than his purchase
  ('f0000000-0000-4000-8000-000000000006', null, 2147483647, '2025-03-01 00:00:00', 2147483647, 2147483647,
   2147483647, 2147483647, 2147483647, 2147483647, '2025-03-01 00:00:00', '2025-03-29 00:00:00', '{}', '2025-03-01 00:00:00'),
  -- grace: drips only; the undated one never outranks a dated one
  ('70000000-0000-4000-8000-000000000007', '57000000-0000-4000-8000-000000000007', 375000, '2025-06-01 00:00:00', 2, 0,
   0, 0, 0, 375000, '2025-06-01 00:00:00', '2025-06-29 00:00:00', '{"plan": "pro"}', '2025-06-01 00:00:00'),
  ('70000000-0000-4000-8000-000000000007', null, 999, null, 1, 0,
   0, 0, 0, 999, null, null, null, null);

insert into token_usage (user_id, feature, tokens, model, metadata, created_at) values
  ('a0000000-0000-4000-8000-000000000001', 'chat', 1800, 'gpt-4o', '{"conversation_id": "c-1"}', '2025-01-02 10:00:00+00'),
  ('a0000000-0000-4000-8000-000000000001', 'vision_generation', 25000, 'vision-2', null, '2025-03-13 10:00:00+00'),
  ('b0000000-0000-4000-8000-000000000002', 'blueprint_generation', 310000, 'claude-3', '{"blueprint": 42}', '2025-03-15 00:00:00+00'),
  -- carol: usage only
  ('c0000000-0000-4000-8000-000000000003', 'chat', 1200, 'gpt-4o-mini', null, '2025-02-01 00:00:00+00'),
  ('c0000000-0000-4000-8000-000000000003', 'vision_generation', 5000, null, '{"size": "1024x1024"}', '2025-02-02 00:00:00+00'),
  ('c0000000-0000-4000-8000-000000000003', 'legacy_feature_x', 7, null, null, '2025-02-03 00:00:00+00'),
  ('d0000000-0000-4000-8000-000000000004', 'audio_generation', 3500, 'tts-1', null, '2025-02-10 00:00:00+00'),
  -- erin: purchases and a grant written as usage
  ('e0000000-0000-4000-8000-000000000005', 'token_purchase', 100000, null, '{"pack_id": "pack_large", "stripe_session_id": "cs_test_legacy_1"}', '2025-01-06 00:00:00+00'),
  ('e0000000-0000-4000-8000-000000000005', 'token_purchase', 25000, null, '{"pack_id": "pack_small"}', '2025-01-20 00:00:00+00'),
  ('e0000000-0000-4000-8000-000000000005', 'admin_grant', 5000, null, '{"reason": "support"}', '2025-01-21 00:00:00+00'),
  ('e0000000-0000-4000-8000-000000000005', 'chat', 900, 'gpt-4o', null, '2025-01-22 00:00:00+00'),
  ('f0000000-0000-4000-8000-000000000006', 'image_generation', 2147483647, 'img-1', null, '2025-05-02 00:00:00+00');

-- The recent subscribers, dated from H (UTC wall-clock in the TIMESTAMP columns, as the
-- product writes them). Balances: kim 50,000 bought, then drips; 175,000 of cycle 6 used
-- (200,000 carried into cycle 7), 25,000 more used, 100,000 bought: 700,000, of which
-- 150,000 bought and 550,000 drip tokens (375,000 of cycle 7, 175,000 of cycle 6).
create temporary table upgrade_hour as select date_trunc('hour', now()) as h;
insert into token_transactions (user_id, transaction_type, token_amount, balance_before, balance_after, source, created_at) values
  ('b1000000-0000-4000-8000-000000000011', 'purchase', 50000, 0, 50000, 'stripe', (select h from upgrade_hour) - interval '100 days'),
  ('b1000000-0000-4000-8000-000000000011', 'purchase', 100000, 600000, 700000, 'stripe', (select h from upgrade_hour) - interval '5 days');
insert into token_drips (user_id, subscription_id, drip_amount, drip_date, cycle_number, rollover_from_previous,
                         rollover_cycles_count, expired_tokens, balance_before, balance_after,
                         billing_period_start, billing_period_end, metadata, created_at)
select d.user_id::uuid, d.sub::uuid, 375000, ((select h from upgrade_hour) + d.start_at) at time zone 'UTC', d.cycle, d.rollover,
       d.rollover_cycles, 0, d.before, d.after,
       ((select h from upgrade_hour) + d.start_at) at time zone 'UTC', ((select h from upgrade_hour) + d.start_at + interval '28 days') at time zone 'UTC',
       '{"plan": "pro"}', ((select h from upgrade_hour) + d.start_at + interval '5 minutes') at time zone 'UTC'
from (values
  ('b1000000-0000-4000-8000-000000000011', '5b100000-0000-4000-8000-000000000011', interval '-48 days', 6, 0, 0, 50000, 425000),
  ('b1000000-0000-4000-8000-000000000011', '5b100000-0000-4000-8000-000000000011', interval '-20 days', 7, 200000, 1, 250000, 625000),
  ('b2000000-0000-4000-8000-000000000012', '5b200000-0000-4000-8000-000000000012', interval '-38 days', 2, 0, 0, 0, 375000),
  ('b2000000-0000-4000-8000-000000000012', '5b200000-0000-4000-8000-000000000012', interval '-10 days', 3, 100000, 1, 100000, 475000),
  ('b3000000-0000-4000-8000-000000000013', '5b300000-0000-4000-8000-000000000013', interval '-30 days', 4, 50000, 1, 50000, 425000)
) d (user_id, sub, start_at, cycle, rollover, rollover_cycles, before, after);
insert into token_usage (user_id, feature, tokens, model, metadata, created_at) values
  ('b1000000-0000-4000-8000-000000000011', 'chat', 175000, 'gpt-4o', null, (select h from upgrade_hour) - interval '30 days'),
  ('b1000000-0000-4000-8000-000000000011', 'chat', 25000, 'gpt-4o', null, (select h from upgrade_hour) - interval '10 days'),
  ('b2000000-0000-4000-8000-000000000012', 'chat', 275000, 'gpt-4o', null, (select h from upgrade_hour) - interval '20 days');

-- A snapshot of every legacy row, outside the tables the migrations change, to compare with.
create schema legacy_snapshot;
create table legacy_snapshot.token_transactions as select * from public.token_transactions;
create table legacy_snapshot.token_drips as select * from public.token_drips;
create table legacy_snapshot.token_usage as select * from public.token_usage;
create table legacy_snapshot.customer_subscriptions as select * from public.customer_subscriptions;

commit;
