-- Core ledger: balances, token lots, catalogs, and the upgrade of the three legacy tables
-- into an append-only ledger.
--
-- Invariants (checked by public.verify_token_ledger()):
--   token_balances.balance = sum of the balance deltas of every non-legacy ledger row
--                          = sum(token_lots.remaining) - token_balances.debt
-- Every balance change takes the user's token_balances row FOR UPDATE first: it is the one
-- lock point per user, so concurrent callers serialize per user and never interleave.

-- Internal helpers live in a schema the API does not expose and API roles cannot use.
create schema if not exists private;
revoke all on schema private from public;
comment on schema private is 'Token ledger internals: not exposed through the API; reached only through public RPCs.';

------------------------------------------------------------------------------------------
-- Catalogs
------------------------------------------------------------------------------------------

-- AI features that usage may be recorded against. Reference data the ledger cannot work
-- without, so it ships with the migration (not the seed).
create table if not exists public.token_features (
  id text primary key check (id ~ '^[a-z][a-z0-9_]{0,62}$'),
  description text not null default '',
  active boolean not null default true,
  created_at timestamptz not null default now()
);
insert into public.token_features (id, description) values
  ('chat', 'Chat conversations'),
  ('vision_generation', 'Vision generation'),
  ('blueprint_generation', 'Blueprint generation'),
  ('audio_generation', 'Audio generation'),
  ('image_generation', 'Image generation')
on conflict (id) do nothing;

-- Token packs sold through Stripe Checkout. The tokens of a purchase always come from here,
-- never from the caller. Price ids differ per Stripe account, so rows come from seed.sql or
-- the operator.
create table if not exists public.token_packs (
  id text primary key check (length(id) between 1 and 100),
  stripe_price_id text unique,
  name text not null default '',
  tokens bigint not null check (tokens > 0),
  active boolean not null default true,
  created_at timestamptz not null default now()
);

------------------------------------------------------------------------------------------
-- Balances and lots
------------------------------------------------------------------------------------------

create table if not exists public.token_balances (
  user_id uuid primary key references auth.users (id) on delete cascade,
  -- Spendable tokens as the ledger last left them: sum of lots' remaining minus debt.
  balance bigint not null default 0,
  -- Tokens owed after a clawback (refund, dispute) or a settled overage; later credits repay it first.
  debt bigint not null default 0 check (debt >= 0),
  updated_at timestamptz not null default now()
);

-- Every credit creates a lot; usage burns lots soonest-expiring first, permanent lots last,
-- oldest first on ties. Lots are state, not ledger: `remaining` goes down as tokens are spent.
create table if not exists public.token_lots (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  source text not null,
  original bigint not null check (original >= 0),
  remaining bigint not null check (remaining >= 0 and remaining <= original),
  expires_at timestamptz,
  transaction_id uuid references public.token_transactions (id) on delete cascade,
  created_at timestamptz not null default now()
);
-- The burn order, over the lots that still hold tokens.
create index if not exists token_lots_burn_order_idx
  on public.token_lots (user_id, expires_at nulls last, created_at, id) where remaining > 0;
-- Lapsed lots that still hold tokens, for the expiry sweep.
create index if not exists token_lots_expiry_idx
  on public.token_lots (expires_at) where remaining > 0 and expires_at is not null;
create index if not exists token_lots_transaction_id_idx on public.token_lots (transaction_id);

------------------------------------------------------------------------------------------
-- token_transactions: the seed's table, upgraded
------------------------------------------------------------------------------------------

-- Rows that exist before this migration are legacy: kept as they are, excluded from the
-- ledger's arithmetic (an opening_balance carries each user's balance forward).
alter table public.token_transactions add column if not exists is_legacy boolean not null default true;
alter table public.token_transactions alter column is_legacy set default false;

alter table public.token_transactions
  alter column token_amount type bigint,
  alter column balance_before type bigint,
  alter column balance_after type bigint,
  add column if not exists idempotency_key text,
  add column if not exists expires_at timestamptz,
  add column if not exists metadata jsonb not null default '{}'::jsonb,
  add column if not exists actor_id uuid,
  add column if not exists pack_id text,
  add column if not exists amount_cents bigint,
  add column if not exists currency text,
  add column if not exists stripe_event_id text,
  add column if not exists stripe_checkout_session_id text,
  add column if not exists stripe_payment_intent_id text,
  add column if not exists stripe_charge_id text,
  add column if not exists stripe_customer_id text,
  -- A clawback or reinstatement points at the purchase it concerns.
  add column if not exists related_transaction_id uuid references public.token_transactions (id) on delete cascade;

alter table public.token_transactions drop constraint if exists token_transactions_type_check;
alter table public.token_transactions add constraint token_transactions_type_check check (
  is_legacy or transaction_type in (
    'purchase', 'admin_grant', 'admin_deduction', 'subscription_grant', 'trial_grant',
    'refund', 'dispute', 'dispute_reversal', 'expiration', 'opening_balance'
  )
);
alter table public.token_transactions drop constraint if exists token_transactions_ledger_check;
alter table public.token_transactions add constraint token_transactions_ledger_check check (
  is_legacy or (
    token_amount is not null and balance_before is not null and balance_after is not null
    and balance_after = balance_before + token_amount
    and idempotency_key is not null and length(idempotency_key) between 1 and 255
  )
);
create unique index if not exists token_transactions_idempotency_key_key on public.token_transactions (idempotency_key);
create index if not exists token_transactions_payment_intent_idx on public.token_transactions (stripe_payment_intent_id)
  where stripe_payment_intent_id is not null;
create index if not exists token_transactions_checkout_session_idx on public.token_transactions (stripe_checkout_session_id)
  where stripe_checkout_session_id is not null;
create index if not exists token_transactions_related_idx on public.token_transactions (related_transaction_id)
  where related_transaction_id is not null;

------------------------------------------------------------------------------------------
-- token_usage: the seed's table, upgraded
------------------------------------------------------------------------------------------

alter table public.token_usage add column if not exists is_legacy boolean not null default true;
alter table public.token_usage alter column is_legacy set default false;
alter table public.token_usage
  alter column tokens type bigint,
  alter column metadata set default '{}'::jsonb,
  add column if not exists idempotency_key text,
  add column if not exists balance_before bigint,
  add column if not exists balance_after bigint;

alter table public.token_usage drop constraint if exists token_usage_ledger_check;
alter table public.token_usage add constraint token_usage_ledger_check check (
  is_legacy or (
    tokens > 0 and balance_before is not null and balance_after is not null
    and balance_after = balance_before - tokens
    and idempotency_key is not null and length(idempotency_key) between 1 and 255
  )
);
-- Usage keys are scoped to the user: a client can never block another user's key.
create unique index if not exists token_usage_user_idempotency_key_key on public.token_usage (user_id, idempotency_key);
-- New usage must name a known feature; legacy rows keep whatever they had.
alter table public.token_usage drop constraint if exists token_usage_feature_fkey;
alter table public.token_usage add constraint token_usage_feature_fkey
  foreign key (feature) references public.token_features (id) not valid;

------------------------------------------------------------------------------------------
-- token_drips: the seed's table, amounts widened (the subscriptions migration adds the rest)
------------------------------------------------------------------------------------------

alter table public.token_drips add column if not exists is_legacy boolean not null default true;
alter table public.token_drips alter column is_legacy set default false;
alter table public.token_drips
  alter column drip_amount type bigint,
  alter column rollover_from_previous type bigint,
  alter column expired_tokens type bigint,
  alter column balance_before type bigint,
  alter column balance_after type bigint;

------------------------------------------------------------------------------------------
-- Append-only: ledger rows are never updated or deleted; corrections are new rows.
-- The only exceptions are the foreign-key actions the seed's DDL declares (rows go away
-- with their user; a drip forgets a deleted subscription), which run one trigger level down.
------------------------------------------------------------------------------------------

create or replace function private.reject_ledger_change()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if pg_trigger_depth() > 1 then
    -- fired by a foreign-key action (ON DELETE CASCADE / SET NULL), not by a direct statement
    if tg_op = 'DELETE' then
      return old;
    end if;
    return new;
  end if;
  raise exception using
    errcode = '42501',
    message = format('%s is an append-only ledger: rows are never %s.', tg_table_name, lower(tg_op) || 'd'),
    hint = 'Record a correcting row through the ledger RPCs instead.';
end;
$$;

do $$
declare
  t text;
begin
  foreach t in array array['token_transactions', 'token_usage', 'token_drips'] loop
    execute format('drop trigger if exists %I on public.%I', t || '_append_only', t);
    execute format(
      'create trigger %I before update or delete on public.%I for each row execute function private.reject_ledger_change()',
      t || '_append_only', t
    );
  end loop;
end
$$;

------------------------------------------------------------------------------------------
-- Privileges and row level security for the new tables
------------------------------------------------------------------------------------------

alter table public.token_balances enable row level security;
alter table public.token_lots enable row level security;
alter table public.token_features enable row level security;
alter table public.token_packs enable row level security;

revoke all on table public.token_balances, public.token_lots, public.token_features, public.token_packs
  from anon, authenticated, service_role;
grant select on table public.token_balances, public.token_lots to authenticated, service_role;
grant select on table public.token_features, public.token_packs to anon, authenticated;
-- The service manages the catalogs (an admin back office with the service key).
grant select, insert, update on table public.token_features, public.token_packs to service_role;

drop policy if exists "users read their own rows" on public.token_balances;
create policy "users read their own rows" on public.token_balances
  for select to authenticated using ((select auth.uid()) = user_id);
drop policy if exists "users read their own rows" on public.token_lots;
create policy "users read their own rows" on public.token_lots
  for select to authenticated using ((select auth.uid()) = user_id);
-- Catalogs are public information (a pricing page reads them); inactive rows stay hidden.
drop policy if exists "anyone reads active features" on public.token_features;
create policy "anyone reads active features" on public.token_features
  for select to anon, authenticated using (active);
drop policy if exists "anyone reads active packs" on public.token_packs;
create policy "anyone reads active packs" on public.token_packs
  for select to anon, authenticated using (active);
