-- The three token tables as the product's database already has them
-- (shared/seed/existing-token-tables.md), so that this project applies both to an empty
-- database and to the existing one. `create table if not exists` keeps existing rows.
--
-- This migration is deliberately the *legacy* shape: INTEGER amounts, no idempotency keys,
-- no ledger invariants. The core ledger migrations that follow widen amounts to bigint, add
-- payment fields, keys and constraints, and make every balance change go through RPCs.
-- Until then, clients may read their own rows and write none.

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

create index if not exists token_transactions_user_id_created_at_idx on public.token_transactions (user_id, created_at);
create index if not exists token_drips_user_id_created_at_idx on public.token_drips (user_id, created_at);
create index if not exists token_drips_subscription_id_idx on public.token_drips (subscription_id);
create index if not exists token_usage_user_id_created_at_idx on public.token_usage (user_id, created_at);
create index if not exists customer_subscriptions_user_id_idx on public.customer_subscriptions (user_id);

-- Row level security: a signed-in user reads its own rows; nobody writes directly.
-- Supabase grants ALL on new public tables to anon, authenticated and service_role, so the
-- privileges are cut back explicitly: RLS alone would still let a granted role try.
do $$
declare
  t text;
begin
  foreach t in array array['token_transactions', 'token_drips', 'token_usage', 'customer_subscriptions'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on table public.%I from anon, authenticated, service_role', t);
    execute format('grant select on table public.%I to authenticated, service_role', t);
    execute format('drop policy if exists "users read their own rows" on public.%I', t);
    execute format(
      'create policy "users read their own rows" on public.%I for select to authenticated using ((select auth.uid()) = user_id)',
      t
    );
  end loop;
end
$$;
