-- The product's original token tables, as its database already has them
-- (shared/seed/existing-token-tables.md), so that this project applies both to an empty
-- database and to the existing one. `create table if not exists` keeps existing tables and rows.
--
-- This migration is deliberately the *legacy* shape: INTEGER amounts, no idempotency keys,
-- no ledger invariants. The next migration (schema) upgrades these tables in place to their
-- final shape and adds everything else.

-- token_drips references customer_subscriptions (seed DDL). The product already has that
-- table; on an empty database we create the minimal shape here and the subscriptions
-- migration extends it.
create table if not exists public.customer_subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users(id) on delete cascade,
  created_at timestamptz not null default now()
);

-- token_transactions: balance changes with a financial or administrative cause. (seed DDL)
CREATE TABLE IF NOT EXISTS public.token_transactions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
    transaction_type TEXT,
    token_amount INTEGER,
    balance_before INTEGER,
    balance_after INTEGER,
    source TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- token_drips: 28-day subscription allowance with rollover and expiry. (seed DDL)
CREATE TABLE IF NOT EXISTS public.token_drips (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  subscription_id UUID REFERENCES public.customer_subscriptions(id) ON DELETE SET NULL,
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

-- token_usage: AI operations. The seed document gives no DDL for it; this is the shape the
-- product writes (user, feature, tokens, model, metadata, time).
create table if not exists public.token_usage (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users(id) on delete cascade,
  feature text not null,
  tokens integer not null,
  model text,
  metadata jsonb,
  created_at timestamptz not null default now()
);
