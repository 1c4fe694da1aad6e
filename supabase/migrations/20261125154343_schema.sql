-- pgt-ignore-all lint/safety/runningStatementWhileHoldingAccessExclusive: `supabase db push` runs each migration in one transaction, so every lock is held until the commit whatever the order; the upgrade is meant to be atomic (docs/architecture.md, "Upgrade day")
-- pgt-ignore-all lint/safety/avoidWideLockWindow: the legacy tables are upgraded together on purpose (one transaction: all or nothing)
-- pgt-ignore-all lint/safety/addingFieldWithDefault: constant defaults (is_legacy, metadata, status, ...) need no rewrite on Postgres 11+; the rewrites that remain (entry_seq's nextval, the bigint widening) are the upgrade's, once, under the lock_timeout below (docs/architecture.md, "Upgrade day")
-- pgt-ignore-all lint/safety/addingForeignKeyConstraint: the column is new, so every row holds null and there is nothing to verify, or (the keys by user) the legacy rows were checked just before; NOT VALID and a separate VALIDATE would run in the same transaction anyway
-- pgt-ignore-all lint/safety/addingPrimaryKeyConstraint: the legacy tables' keys become (user_id, id) in place (docs/scaling.md), under the upgrade's lock like the rewrite; an index built first for USING INDEX would need CONCURRENTLY, which a transaction does not allow
-- The schema: every table in its final shape, with its indexes, constraints, row level
-- security, policies and table privileges. The product's three original tables (and the
-- minimal customer_subscriptions) are upgraded in place: their rows are kept, marked
-- is_legacy, and left out of the ledger's arithmetic (a later migration carries each legacy
-- user's balance forward as an opening_balance). Functions come in the migrations after this.
--
-- Invariants (checked by public.verify_token_ledger()):
--   token_balances.balance = sum of the balance deltas of every non-legacy ledger row
--                          = sum(token_lots.remaining) - token_balances.debt
-- Every balance change takes the user's token_balances row FOR UPDATE first: it is the one
-- lock point per user, so concurrent callers serialize per user and never interleave.

-- On a live database the upgrade waits at most this long for each table's lock (the product
-- may be writing to its tables): past it the migration fails and rolls back, whole, and can be
-- run again, rather than queueing every later query of the product behind its lock. Local to
-- the migration's transaction.
set local lock_timeout = '10s';

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

-- Subscription plans: what each Stripe subscription price drips (or grants yearly).
create table if not exists public.subscription_plans (
  id text primary key check (length(id) between 1 and 100),
  stripe_price_id text unique,
  name text not null default '',
  drip_tokens bigint not null default 375000 check (drip_tokens >= 0),
  drip_interval interval not null default interval '28 days',
  max_rollover_cycles integer not null default 1 check (max_rollover_cycles >= 0),
  max_rollover_tokens bigint check (max_rollover_tokens >= 0),
  annual_grant_tokens bigint check (annual_grant_tokens > 0),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  -- Days and time only: month arithmetic is how a 30-day counter skips a month.
  constraint subscription_plans_interval_check check (
    drip_interval > interval '0' and extract(year from drip_interval) = 0 and extract(month from drip_interval) = 0
  )
);

------------------------------------------------------------------------------------------
-- The order of ledger entries
------------------------------------------------------------------------------------------

-- Every ledger row (token_transactions, token_usage, token_drips) takes the next entry_seq
-- when it is written. Rows of one user are written only under that user's balance row lock,
-- so a user's rows take their numbers in the order they were written, entries of one
-- transaction included; a row written later always has a higher number. That is the order of
-- the balance chain and of statements (get_token_statement), which created_at (the start of
-- the writing transaction) cannot give. No CACHE: cached values would be handed out of order
-- across sessions.
create sequence if not exists private.ledger_entry_seq as bigint no cycle;

------------------------------------------------------------------------------------------
-- Balances
------------------------------------------------------------------------------------------

create table if not exists public.token_balances (
  user_id uuid primary key references auth.users (id) on delete cascade,
  -- Spendable tokens as the ledger last left them: sum of lots' remaining minus debt.
  balance bigint not null default 0,
  -- Tokens owed after a clawback (refund, dispute) or a settled overage; later credits repay it first.
  debt bigint not null default 0 check (debt >= 0),
  updated_at timestamptz not null default now(),
  -- Cached on the row every spend locks anyway, so that the usual spend is one UPDATE of it
  -- (record_usage and reserve_tokens, docs/benchmarks.md) instead of queries under the lock:
  -- held: the tokens of the user's holds marked 'held' (lapsed ones too, until the token-holds
  -- job closes them), kept exact by every change of a hold's status;
  held bigint not null default 0 check (held >= 0),
  -- next_due_at: nothing of the user falls due before it: no lot with tokens lapses, no
  -- subscription drips, no held hold lapses. A lower bound: whatever adds something that falls
  -- due lowers it, the full path of a spend sets it exactly, and -infinity (a new row) sends
  -- the next spend through the full path. The fast path runs only while it is after now().
  next_due_at timestamptz not null default '-infinity'
);

------------------------------------------------------------------------------------------
-- token_transactions: the original table, upgraded
------------------------------------------------------------------------------------------

-- Rows that exist before this migration are legacy: kept as they are, excluded from the
-- ledger's arithmetic (an opening_balance carries each user's balance forward).
alter table public.token_transactions
  add column if not exists is_legacy boolean not null default true,
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
  -- A clawback or reinstatement points at the purchase it concerns (the same user's: the
  -- foreign key below).
  add column if not exists related_transaction_id uuid,
  -- A fingerprint of each request, to tell a replay (same key, same request) from a reuse.
  add column if not exists request_hash text,
  add column if not exists entry_seq bigint not null default nextval('private.ledger_entry_seq'),
  drop constraint if exists token_transactions_type_check,
  add constraint token_transactions_type_check check (
    is_legacy or transaction_type in (
      'purchase', 'admin_grant', 'admin_deduction', 'subscription_grant', 'trial_grant',
      'refund', 'dispute', 'dispute_reversal', 'expiration', 'opening_balance', 'void'
    )),
  drop constraint if exists token_transactions_ledger_check,
  add constraint token_transactions_ledger_check check (
    is_legacy or (
      token_amount is not null and balance_before is not null and balance_after is not null
      and balance_after = balance_before + token_amount
      and idempotency_key is not null and length(idempotency_key) between 1 and 255
    ));
-- pgt-ignore lint/safety/multipleAlterTable: a second statement on purpose: the rows that exist took true above (legacy), rows written from now on take false
alter table public.token_transactions alter column is_legacy set default false;
-- The key leads with user_id, as every unique key of a per-user table (docs/scaling.md): the
-- product's table had `primary key (id)`; its rows keep their ids, which stay unique (an id is
-- a uuid, and it was unique alone). Built once, after the rewrite above. Foreign keys to a
-- transaction name (user_id, id): a clawback, a lot, a correction are the same user's.
-- pgt-ignore lint/safety/multipleAlterTable: the key is swapped after the rewrite above, so its index is built once
alter table public.token_transactions
  drop constraint if exists token_transactions_pkey,
  add constraint token_transactions_pkey primary key (user_id, id),
  add constraint token_transactions_related_transaction_id_fkey foreign key (user_id, related_transaction_id)
    references public.token_transactions (user_id, id) on delete cascade;
-- Lookups by id alone (void_grant names only the transaction): not unique, the key is above.
create index if not exists token_transactions_id_idx on public.token_transactions (id);
-- Keys are scoped to the user, like every unique key of a per-user table (docs/scaling.md):
-- the key's uniqueness is then checked on the user's own rows.
create unique index if not exists token_transactions_user_idempotency_key_key
  on public.token_transactions (user_id, idempotency_key);
create index if not exists token_transactions_payment_intent_idx on public.token_transactions (stripe_payment_intent_id)
  where stripe_payment_intent_id is not null;
create index if not exists token_transactions_checkout_session_idx on public.token_transactions (stripe_checkout_session_id)
  where stripe_checkout_session_id is not null;
create index if not exists token_transactions_related_idx on public.token_transactions (related_transaction_id)
  where related_transaction_id is not null;
create index if not exists token_transactions_user_id_created_at_idx on public.token_transactions (user_id, created_at);
create index if not exists token_transactions_user_id_entry_seq_idx on public.token_transactions (user_id, entry_seq);

------------------------------------------------------------------------------------------
-- Lots (after token_transactions, whose key their foreign key names)
------------------------------------------------------------------------------------------

-- Every credit creates a lot; usage burns lots soonest-expiring first, permanent lots last,
-- oldest first on ties. Lots are state, not ledger: `remaining` goes down as tokens are spent.
create table if not exists public.token_lots (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  source text not null,
  original bigint not null check (original >= 0),
  remaining bigint not null check (remaining >= 0 and remaining <= original),
  expires_at timestamptz,
  transaction_id uuid,
  created_at timestamptz not null default now(),
  -- The subscription and drip a drip lot came from. Lots are internal state: these links need
  -- no foreign-key checks on every insert (rows go away with their user through user_id).
  subscription_id uuid,
  drip_id uuid,
  -- remaining > 0, stored. The partial indexes below name it instead of remaining, so a spend,
  -- which changes only remaining, is a HOT update (no new entry in any index) as long as the
  -- lot keeps tokens; with remaining in their predicates, every spend wrote a new entry in
  -- each of the table's indexes (docs/benchmarks.md, issue 12).
  has_tokens boolean not null generated always as (remaining > 0) stored,
  -- Keyed by user, as every per-user table (docs/scaling.md): a lot and the transaction it came
  -- from are the same user's, so the link carries user_id (on Citus, a check on one shard).
  -- Lots are updated by (user_id, id): the spends name the user they locked.
  constraint token_lots_pkey primary key (user_id, id),
  constraint token_lots_transaction_id_fkey foreign key (user_id, transaction_id)
    references public.token_transactions (user_id, id) on delete cascade
)
-- Room on each page for the new version of a lot, so that spends stay HOT updates.
with (fillfactor = 90);
-- The burn order, over the lots that still hold tokens.
create index if not exists token_lots_burn_order_idx
  on public.token_lots (user_id, expires_at nulls last, created_at, id) where has_tokens;
-- Lapsed lots that still hold tokens, for the expiry sweep.
create index if not exists token_lots_expiry_idx
  on public.token_lots (expires_at) where has_tokens and expires_at is not null;
-- Most lots come from drips and have no transaction: index only the ones that do.
create index if not exists token_lots_transaction_id_idx on public.token_lots (transaction_id) where transaction_id is not null;
create index if not exists token_lots_subscription_idx on public.token_lots (subscription_id, expires_at)
  where has_tokens and subscription_id is not null;
create index if not exists token_lots_drip_id_idx on public.token_lots (drip_id) where drip_id is not null;

------------------------------------------------------------------------------------------
-- token_holds: reservations for streaming usage (state, not ledger)
------------------------------------------------------------------------------------------

-- A hold reserves tokens from the balance (not from particular lots) before an AI call;
--   available = balance - tokens held by active holds.
-- A hold is active while status = 'held' and expires_at > now: a lapsed hold stops counting
-- at its expires_at even before the token-holds cron job marks it 'expired'. The ledger row
-- is the token_usage row a settle writes.
create table if not exists public.token_holds (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  feature text not null references public.token_features (id),
  tokens_held bigint not null check (tokens_held > 0),
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  request_hash text not null,
  expires_at timestamptz not null,
  status text not null default 'held' check (status in ('held', 'settled', 'released', 'expired')),
  available_after bigint not null,
  -- The usage row a settle wrote (no foreign key: token_usage is partitioned by time, so its
  -- key is (user_id, created_at, id), and its old partitions may be archived).
  usage_id uuid,
  tokens_used bigint check (tokens_used >= 0),
  tokens_released bigint check (tokens_released >= 0),
  created_at timestamptz not null default now(),
  closed_at timestamptz,
  -- user_id first, as in every key of a per-user table (docs/scaling.md)
  constraint token_holds_pkey primary key (user_id, id)
);
create unique index if not exists token_holds_user_idempotency_key_key on public.token_holds (user_id, idempotency_key);
-- The active holds of a user, summed on every spend; the sweep reads it too (it holds only
-- the holds still marked held). No separate (expires_at) index for the sweep: the planner
-- takes it for the per-user sum (its statistics say few holds are held) and then reads every
-- user's held holds on every spend.
create index if not exists token_holds_active_idx on public.token_holds (user_id, expires_at) where status = 'held';
-- settle_hold and release_hold name only the hold: this finds its user (the key leads with
-- user_id); everything after that goes through the key.
create index if not exists token_holds_id_idx on public.token_holds (id);
-- Nothing else: every reserve writes each index and every settle (never a HOT update: it
-- changes status, which token_holds_active_idx filters on) writes each one again. Nothing
-- looks a hold up by usage_id (the usage row names its hold), and feature only points at the
-- catalog, which is never deleted from (as token_usage.feature, unindexed too).

------------------------------------------------------------------------------------------
-- token_usage: the original table, upgraded in place to monthly partitions (pg_partman)
------------------------------------------------------------------------------------------

-- Usage grows with every AI call and is read by user and recent time, so it is partitioned by
-- month of created_at (docs/scaling.md): old months can be detached and archived whole, and
-- each month's indexes stay small. pg_partman creates the partitions where the platform has
-- it, in schema partman (on Supabase supautils runs postgres's statement as the platform's
-- superuser; locally the compatibility layer has created it already). Not every Supabase
-- project has it (docs/scaling.md#pg_partman-on-supabase): there the migration goes on without
-- it, and private.create_usage_month_partitions makes the same monthly partitions with plain DDL.
create schema if not exists partman;
do $$
begin
  create extension if not exists pg_partman with schema partman;
exception when others then
  raise warning 'pg_partman cannot be created here (%): token_usage''s monthly partitions are made with plain DDL', sqlerrm;
end
$$;

-- The product's table (the token_tables migration) is a plain table, which cannot become a
-- partitioned one: it is set aside here, and its rows are copied into the partitions below as
-- legacy rows (kept with their values), then it is dropped.
do $$
begin
  if (select c.relkind from pg_class c where c.oid = to_regclass('public.token_usage')) = 'r' then
    alter table public.token_usage rename to token_usage_unpartitioned;
    alter table public.token_usage_unpartitioned set schema private;
  end if;
end
$$;

create table if not exists public.token_usage (
  id uuid not null default gen_random_uuid(),
  -- No foreign key to auth.users: its check locked the user's auth.users row (FOR KEY SHARE,
  -- a WAL record) on every usage, about 10% of a call's writes (docs/benchmarks.md, issue 12).
  -- Usage is written only under the user's token_balances row lock, whose own foreign key
  -- says the user exists; a deleted user's usage goes with them by the trigger below.
  user_id uuid not null,
  -- New usage names an active feature (record_usage checks it; a hold's feature has a foreign
  -- key). No foreign key here: legacy rows keep whatever they had, and a partitioned table
  -- cannot take a NOT VALID one.
  feature text not null,
  tokens bigint not null,
  model text,
  metadata jsonb default '{}'::jsonb,
  created_at timestamptz not null default now(),
  -- Rows copied from the product's table; left out of the ledger's arithmetic.
  is_legacy boolean not null default false,
  idempotency_key text,
  balance_before bigint,
  balance_after bigint,
  -- A fingerprint of each request, to tell a replay (same key, same request) from a reuse.
  request_hash text,
  -- The usage row a settle writes points at its hold and says how much was beyond what the
  -- hold and the free balance covered (that part became debt).
  hold_id uuid,
  overage_tokens bigint not null default 0 check (overage_tokens >= 0),
  -- The order of the user's ledger entries (private.ledger_entry_seq, above).
  entry_seq bigint not null default nextval('private.ledger_entry_seq'),
  -- A key of a partitioned table must hold the partition key; user_id leads (docs/scaling.md).
  -- In this order it also serves a user's usage by time (history pages, a hold's usage row),
  -- so no second (user_id, created_at) index is kept up on every call.
  constraint token_usage_pkey primary key (user_id, created_at, id),
  constraint token_usage_hold_id_fkey foreign key (user_id, hold_id) references public.token_holds (user_id, id)
    on delete set null (hold_id),
  constraint token_usage_ledger_check check (
    is_legacy or (
      tokens > 0 and balance_before is not null and balance_after is not null
      and balance_after = balance_before - tokens
      and idempotency_key is not null and length(idempotency_key) between 1 and 255
    )
  )
) partition by range (created_at);

-- Usage keys are scoped to the user, and unique within a window rather than by an index (a
-- unique index of a partitioned table must hold created_at, which a retry does not repeat):
-- record_usage looks the key up under the user's balance lock over the partitions that
-- private.usage_key_window() covers. See docs/scaling.md#usage-keys.
create index if not exists token_usage_user_idempotency_key_idx on public.token_usage (user_id, idempotency_key);
create index if not exists token_usage_user_id_entry_seq_idx on public.token_usage (user_id, entry_seq);
-- A hold's usage row (one per hold: settle_hold writes it once, under the hold's lock).
create index if not exists token_usage_hold_id_idx on public.token_usage (user_id, hold_id) where hold_id is not null;
-- At most one usage row per hold, checked by a trigger (a unique index of a partitioned table
-- would have to hold created_at): the hold's row is locked, then no usage row may name it yet.
-- settle_hold holds that lock already; only inserts that name a hold pay for the check.
create or replace function private.one_usage_per_hold()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_hold_created timestamptz;
begin
  select h.created_at into v_hold_created from public.token_holds h
   where h.user_id = new.user_id and h.id = new.hold_id for update;
  if exists (select 1 from public.token_usage u
             where u.user_id = new.user_id and u.hold_id = new.hold_id and u.created_at >= v_hold_created) then
    raise exception using
      errcode = '23505',
      message = format('Hold %s already has its usage row: one usage row per hold.', new.hold_id),
      hint = 'settle_hold writes a hold''s usage row once; a second settle replays it.';
  end if;
  return new;
end;
$$;
revoke execute on function private.one_usage_per_hold() from public, anon, authenticated, service_role;
drop trigger if exists token_usage_one_per_hold on public.token_usage;
create trigger token_usage_one_per_hold before insert on public.token_usage
  for each row when (new.hold_id is not null) execute function private.one_usage_per_hold();

-- A deleted user's usage goes with them, as their other rows go by their foreign keys, also
-- from archived months (schema usage_archive: detached partitions, which used to keep the
-- foreign key's cascade). After delete on auth.users, in the same statement (the append-only
-- trigger lets a trigger's delete through, as it does a foreign-key action). Security definer: Supabase Auth
-- deletes users as supabase_auth_admin, which has no rights on the ledger. The trigger is
-- created once and never dropped (no `drop trigger if exists` first: postgres may create a
-- trigger on auth.users but not drop one, see the signup trials migration).
create or replace function private.forget_user_usage()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_table text;
begin
  delete from public.token_usage u where u.user_id = old.id;
  for v_table in
    select format('%I.%I', n.nspname, c.relname) from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'usage_archive' and c.relkind = 'r'
  loop
    execute format('delete from %s where user_id = $1', v_table) using old.id;
  end loop;
  return null;
end;
$$;
revoke execute on function private.forget_user_usage() from public, anon, authenticated, service_role;
create trigger token_ledger_forget_usage
  after delete on auth.users
  for each row execute function private.forget_user_usage();

-- Partitions hold the users' rows but are not what the API reads (it reads token_usage, whose
-- policies apply): each partition has row level security on and no privileges for the API
-- roles, whatever Supabase's default privileges in public gave it. Run after every change to
-- the partitions.
create or replace function private.secure_usage_partitions()
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_partition regclass;
begin
  for v_partition in
    select i.inhrelid::regclass from pg_catalog.pg_inherits i where i.inhparent = 'public.token_usage'::regclass
  loop
    execute format('alter table %s enable row level security', v_partition);
    execute format('revoke all on table %s from anon, authenticated, service_role', v_partition);
  end loop;
end;
$$;
revoke execute on function private.secure_usage_partitions() from public, anon, authenticated, service_role;

-- The partitions of the months of p_months, where missing: through pg_partman when it is
-- installed; without it (docs/scaling.md#pg_partman-on-supabase) with plain DDL, the default
-- partition and one partition per month, named as pg_partman 4 names them
-- (token_usage_pYYYY_MM; UTC months). Creating a month's partition scans the default
-- partition, which stays empty. p_plain: plain DDL even where pg_partman is installed (the
-- tests check the fallback with it).
create or replace function private.create_usage_month_partitions(p_months timestamptz[], p_plain boolean default false)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_month timestamp;
  v_name text;
begin
  if not p_plain and exists (select 1 from pg_catalog.pg_extension e where e.extname = 'pg_partman') then
    -- pg_partman sets search_path for the session (set_config(..., false)) and then "restores"
    -- the path it found, which would leave this function's pinned path on the caller's session
    -- after it returns (a non-local set outlives a function's SET clause). So it finds the
    -- session's default path instead, and that is what stays. What follows in the callers names
    -- every object by its schema or has its own pinned path (a SET LOCAL would leak the same way).
    perform pg_catalog.set_config('search_path',
      (select s.reset_val from pg_catalog.pg_settings s where s.name = 'search_path'), true);
    -- pg_partman 4 analyzes the whole table after creating one unless told not to; 5 does not.
    if (select e.extversion from pg_catalog.pg_extension e where e.extname = 'pg_partman') like '4.%' then
      perform partman.create_partition_time('public.token_usage', p_months, p_analyze => false);
    else
      perform partman.create_partition_time('public.token_usage', p_months);
    end if;
    return;
  end if;
  if to_regclass('public.token_usage_default') is null then
    create table public.token_usage_default partition of public.token_usage default;
  end if;
  foreach v_month in array (select array_agg(distinct date_trunc('month', m at time zone 'UTC')) from unnest(p_months) m) loop
    v_name := 'token_usage_p' || to_char(v_month, 'YYYY_MM');
    if to_regclass('public.' || v_name) is null then
      execute format('create table public.%I partition of public.token_usage for values from (%L) to (%L)', v_name,
                     v_month at time zone 'UTC', (v_month + interval '1 month') at time zone 'UTC');
    end if;
  end loop;
end;
$$;
revoke execute on function private.create_usage_month_partitions(timestamptz[], boolean) from public, anon, authenticated, service_role;

-- One partition a month from the month of the oldest row, and three months ahead (the
-- token-usage-partitions cron job keeps three ahead: private.create_usage_partitions).
-- pg_partman 4 (Debian's package) and 5 (Supabase's) differ only in how the partition type
-- and interval are named.
do $$
declare
  v_start timestamptz := date_trunc('month', now(), 'UTC');
begin
  if to_regclass('private.token_usage_unpartitioned') is not null then
    v_start := least(v_start,
      (select date_trunc('month', min(u.created_at), 'UTC') from private.token_usage_unpartitioned u));
  end if;
  if not exists (select 1 from pg_extension e where e.extname = 'pg_partman') then
    perform private.create_usage_month_partitions(array(
      select generate_series(v_start, date_trunc('month', now(), 'UTC') + interval '3 months', interval '1 month')));
  elsif not exists (select 1 from partman.part_config where parent_table = 'public.token_usage') then
    if (select e.extversion from pg_extension e where e.extname = 'pg_partman') like '4.%' then
      perform partman.create_parent(p_parent_table => 'public.token_usage', p_control => 'created_at',
        p_type => 'native', p_interval => 'monthly', p_premake => 3, p_start_partition => v_start::text);
    else
      perform partman.create_parent(p_parent_table => 'public.token_usage', p_control => 'created_at',
        p_interval => '1 month', p_premake => 3, p_start_partition => v_start::text);
    end if;
  end if;
  if to_regclass('private.token_usage_unpartitioned') is not null then
    -- in the order they were written, so that their entry_seq follows it
    insert into public.token_usage (id, user_id, feature, tokens, model, metadata, created_at, is_legacy)
    select u.id, u.user_id, u.feature, u.tokens, u.model, u.metadata, u.created_at, true
      from private.token_usage_unpartitioned u
     order by u.created_at, u.id;
    drop table private.token_usage_unpartitioned;
  end if;
  perform private.secure_usage_partitions();
end
$$;

-- Archived months of usage (public.archive_usage): one row per user and archived month with
-- what that month's rows took from the balance, so the ledger still reconciles once the
-- partition has left token_usage (verify_token_ledger counts these rows in its place).
create table if not exists public.token_usage_archives (
  user_id uuid not null references auth.users (id) on delete cascade,
  period_start timestamptz not null,
  period_end timestamptz not null check (period_end > period_start),
  -- usage rows of the month (legacy rows counted apart: they never counted in the ledger)
  usage_rows bigint not null check (usage_rows >= 0),
  legacy_rows bigint not null check (legacy_rows >= 0),
  -- the sum of the tokens of the month's non-legacy rows: what they took from the balance
  tokens bigint not null check (tokens >= 0),
  -- the month's last non-legacy row (by entry_seq): where the user's balance chain stood, for
  -- reconcile_token_ledger when the user has written nothing since (null: legacy rows only);
  -- a statement shows the month as one entry at that place
  last_entry_seq bigint,
  last_balance_after bigint,
  last_entry_at timestamptz,
  -- the tokens of the month's legacy rows (those corrected as misfiled left out: a statement
  -- shows them through their counterpart transaction), for the statement's legacy part
  legacy_tokens bigint not null default 0 check (legacy_tokens >= 0),
  -- what replaying the user's ledger gives after their last archived row so far (this month's
  -- or an earlier archived month's, by entry_seq): private.replay_lots' result with "seq" and
  -- "balance_after" of that row. The replay (statements' balances at a moment, the deep
  -- reconciliation) starts from it, since the archived rows are no longer there to replay
  -- (null: no archived row that counts, legacy rows only).
  closing_state jsonb,
  -- where the rows went (a table of schema usage_archive, until an operator exports it)
  archived_table text not null,
  archived_at timestamptz not null default now(),
  constraint token_usage_archives_pkey primary key (user_id, period_start)
);

------------------------------------------------------------------------------------------
-- customer_subscriptions: the table token_drips.subscription_id points at, extended
------------------------------------------------------------------------------------------

-- Keyed by user from here on (docs/scaling.md): the product's table had `primary key (id)` and
-- token_drips' foreign key on subscription_id alone. Both change in place; rows keep their ids.
-- Before that, the legacy rows must say whose they are: a subscription without a user (the
-- product's table may allow it) takes the one user its drips name; one that still has none, or
-- a drip filed under another user's subscription, stops the upgrade with the rows to fix (the
-- keys could not hold them, and nothing is guessed or dropped).
do $$
declare
  v_rows text;
begin
  update public.customer_subscriptions s set user_id = d.user_id
    from (select d.subscription_id, min(d.user_id::text)::uuid as user_id from public.token_drips d
           where d.subscription_id is not null group by d.subscription_id having count(distinct d.user_id) = 1) d
   where s.id = d.subscription_id and s.user_id is null;
  select string_agg(s.id::text, ', ') into v_rows from public.customer_subscriptions s where s.user_id is null;
  if v_rows is not null then
    raise exception using errcode = '23502',
      message = 'customer_subscriptions rows without a user: every subscription belongs to one user.',
      detail = format('subscriptions: %s', v_rows),
      hint = 'Set their user_id (or delete them) before the upgrade (docs/upgrade.md).';
  end if;
  select string_agg(format('drip %s (user %s) -> subscription %s (user %s)', d.id, d.user_id, s.id, s.user_id), ', ')
    into v_rows
    from public.token_drips d join public.customer_subscriptions s on s.id = d.subscription_id
   where s.user_id <> d.user_id;
  if v_rows is not null then
    raise exception using errcode = '23503',
      message = 'token_drips rows name another user''s subscription: a drip and its subscription are one user''s.',
      detail = v_rows,
      hint = 'Correct the legacy rows before the upgrade (docs/upgrade.md).';
  end if;
end
$$;
-- The old foreign key goes before the key it depends on; token_drips' section adds it again
-- on (user_id, subscription_id).
alter table public.token_drips drop constraint if exists token_drips_subscription_id_fkey;

alter table public.customer_subscriptions
  drop constraint if exists customer_subscriptions_pkey,
  add constraint customer_subscriptions_pkey primary key (user_id, id),
  add column if not exists stripe_subscription_id text,
  add column if not exists stripe_customer_id text,
  add column if not exists plan_id text references public.subscription_plans (id),
  add column if not exists status text not null default 'active',
  add column if not exists current_period_start timestamptz,
  add column if not exists current_period_end timestamptz,
  add column if not exists cancel_at_period_end boolean not null default false,
  add column if not exists canceled_at timestamptz,
  add column if not exists drip_anchor timestamptz not null default now(),
  add column if not exists last_stripe_event_at timestamptz,
  add column if not exists updated_at timestamptz not null default now(),
  -- Maintained by the drip engine: the next cycle to process and when it starts
  -- (null: nothing will drip, e.g. canceled, or a plan without drips).
  add column if not exists next_cycle_number integer not null default 1,
  add column if not exists next_drip_at timestamptz,
  -- A subscription the product had before the upgrade: the last cycle its legacy drips
  -- issued (legacy_opening_balances continues its schedule from there). Null otherwise.
  add column if not exists legacy_last_cycle integer,
  -- NOT VALID: rows the product already has keep whatever status they hold.
  drop constraint if exists customer_subscriptions_status_check,
  add constraint customer_subscriptions_status_check check (
    status in ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused')
  ) not valid,
  -- Impossible schedules are refused, whoever writes them (the service may write this table):
  -- cycles count from 1 and never repeat a legacy one; the schedule's times are finite and
  -- not before the anchor. A row breaking them used to fail every drip batch that took it.
  drop constraint if exists customer_subscriptions_next_cycle_number_check,
  add constraint customer_subscriptions_next_cycle_number_check check (
    next_cycle_number >= 1 and next_cycle_number > coalesce(legacy_last_cycle, 0)
  ),
  drop constraint if exists customer_subscriptions_schedule_times_check,
  add constraint customer_subscriptions_schedule_times_check check (
    isfinite(drip_anchor) and (next_drip_at is null or (isfinite(next_drip_at) and next_drip_at >= drip_anchor))
  );
-- A Stripe subscription id is unique per user here, and names one user through the global
-- directory public.stripe_subscriptions (below), which a trigger keeps (subscriptions_and_drips).
create unique index if not exists customer_subscriptions_user_stripe_subscription_id_key
  on public.customer_subscriptions (user_id, stripe_subscription_id);
create index if not exists customer_subscriptions_plan_id_idx on public.customer_subscriptions (plan_id);
-- run_due_drips takes due subscriptions in due order straight from this index (no sort of
-- everything due).
create index if not exists customer_subscriptions_next_drip_at_idx
  on public.customer_subscriptions (next_drip_at, id) where next_drip_at is not null;
-- Lookups by id alone (run_drip, the drip batches): the key (user_id, id) serves a user's.
create index if not exists customer_subscriptions_id_idx on public.customer_subscriptions (id);

-- Subscriptions whose drip failed, set aside until an operator clears the row (or run_drip
-- succeeds for it): run_due_drips and a user's own catch-up skip them, so one broken row
-- never stops the others. What failed is kept as the error reported it.
create table if not exists public.drip_failures (
  user_id uuid not null references auth.users (id) on delete cascade,
  subscription_id uuid not null,
  -- the subscription's schedule when it failed (the failed run was undone)
  next_cycle_number integer not null,
  next_drip_at timestamptz,
  as_of timestamptz not null,
  sqlstate text not null,
  message text not null,
  detail text,
  hint text,
  failed_at timestamptz not null default now(),
  -- Keyed by user, as every per-user table (docs/scaling.md); the row goes with its
  -- subscription. The foreign key uses customer_subscriptions' own key (user_id, id): no index
  -- more for the drips to update.
  primary key (user_id, subscription_id),
  constraint drip_failures_subscription_id_fkey foreign key (user_id, subscription_id)
    references public.customer_subscriptions (user_id, id) on delete cascade
);

-- Stripe customers linked to users (checkout.session.completed in subscription mode).
create table if not exists public.stripe_customers (
  stripe_customer_id text primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now()
);
create index if not exists stripe_customers_user_id_idx on public.stripe_customers (user_id);

-- Stripe subscriptions linked to users: the global directory that keeps a Stripe subscription
-- id to one user across the ledger (customer_subscriptions is per user: its key on the id is
-- (user_id, stripe_subscription_id), which one user's shard can check). Written only by a
-- trigger on customer_subscriptions (private.stripe_subscription_directory), whoever writes the
-- subscription: a second user's row with the same Stripe id fails there (23505), as the global
-- unique index did. The webhook finds the subscription's user here first.
create table if not exists public.stripe_subscriptions (
  stripe_subscription_id text primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now()
);
create index if not exists stripe_subscriptions_user_id_idx on public.stripe_subscriptions (user_id);
insert into public.stripe_subscriptions (stripe_subscription_id, user_id)
select s.stripe_subscription_id, s.user_id from public.customer_subscriptions s where s.stripe_subscription_id is not null
on conflict (stripe_subscription_id) do nothing;

------------------------------------------------------------------------------------------
-- token_drips: the original table, amounts widened, exact UTC timestamps, one row per
-- (subscription, cycle), ledger checks
------------------------------------------------------------------------------------------

-- pgt-ignore lint/safety/multipleAlterTable: its old foreign key was dropped above, before customer_subscriptions' key changed
alter table public.token_drips
  add column if not exists is_legacy boolean not null default true,
  alter column drip_amount type bigint,
  alter column rollover_from_previous type bigint,
  alter column expired_tokens type bigint,
  alter column balance_before type bigint,
  alter column balance_after type bigint;

-- The seed's TIMESTAMP columns hold UTC wall-clock values (Supabase runs in UTC).
do $$
begin
  if (select data_type from information_schema.columns
      where table_schema = 'public' and table_name = 'token_drips' and column_name = 'billing_period_start') = 'timestamp without time zone' then
    alter table public.token_drips
      alter column drip_date type timestamptz using drip_date at time zone 'UTC',
      alter column billing_period_start type timestamptz using billing_period_start at time zone 'UTC',
      alter column billing_period_end type timestamptz using billing_period_end at time zone 'UTC',
      alter column created_at type timestamptz using created_at at time zone 'UTC';
  end if;
end
$$;
-- pgt-ignore lint/safety/multipleAlterTable: after the DO block above, which converts the seed's timestamp columns only where they still are timestamps
alter table public.token_drips
  alter column is_legacy set default false, -- the rows that exist took true above (legacy)
  add column if not exists plan_id text,
  add column if not exists entry_seq bigint not null default nextval('private.ledger_entry_seq'),
  drop constraint if exists token_drips_ledger_check,
  -- subscription_id may be null: a drip forgets a deleted subscription (the seed's ON DELETE
  -- SET NULL); the engine always writes it.
  add constraint token_drips_ledger_check check (
    is_legacy or (
      cycle_number >= 1 and drip_amount >= 0
      and rollover_from_previous >= 0 and rollover_cycles_count >= 0 and expired_tokens >= 0
      and balance_after = balance_before + drip_amount - expired_tokens
      and billing_period_start is not null and billing_period_end > billing_period_start
    ));

-- Keyed by user (docs/scaling.md), in place of the product's `primary key (id)`; the link to the
-- subscription joins on user_id too (the legacy rows were checked above), and a deleted
-- subscription still leaves its drips with subscription_id null, as the seed's key did.
-- pgt-ignore lint/safety/multipleAlterTable: the key is swapped after the rewrite above, so its index is built once
alter table public.token_drips
  drop constraint if exists token_drips_pkey,
  add constraint token_drips_pkey primary key (user_id, id),
  add constraint token_drips_subscription_id_fkey foreign key (user_id, subscription_id)
    references public.customer_subscriptions (user_id, id) on delete set null (subscription_id);

create unique index if not exists token_drips_subscription_cycle_key
  on public.token_drips (user_id, subscription_id, cycle_number) where not is_legacy;
create index if not exists token_drips_user_id_created_at_idx on public.token_drips (user_id, created_at);
create index if not exists token_drips_user_id_entry_seq_idx on public.token_drips (user_id, entry_seq);
create index if not exists token_drips_subscription_id_idx on public.token_drips (subscription_id);

------------------------------------------------------------------------------------------
-- Stripe: events received, and the refund/dispute state of each purchase
------------------------------------------------------------------------------------------

-- stripe_events.id (the event id) is the primary key: a second delivery changes nothing.
create table if not exists public.stripe_events (
  id text primary key,
  type text not null,
  created timestamptz not null,
  livemode boolean not null default false,
  payload jsonb not null,
  -- unattributed: a paid checkout naming no known user, kept in unattributed_payments; a
  -- subscription naming no known user, and its paid invoices (docs/stripe.md)
  status text not null check (status in ('processed', 'ignored', 'unattributed')),
  -- what the event did, or why it was ignored or left unattributed
  result jsonb not null default '{}'::jsonb,
  error text,
  received_at timestamptz not null default now(),
  processed_at timestamptz not null default now()
);
create index if not exists stripe_events_type_created_idx on public.stripe_events (type, created);
-- The object of each unattributed event: invoice.paid asks whether its subscription was kept.
create index if not exists stripe_events_unattributed_object_idx
  on public.stripe_events ((payload #>> '{data,object,id}')) where status = 'unattributed';

-- Paid pack checkouts that named no known user (neither client_reference_id nor
-- metadata.user_id): kept for an operator instead of being dropped, until attribute_payment
-- grants one through the purchase path. State, not ledger: attribution fills the attributed_*
-- columns in place; the purchase itself is the ledger row.
create table if not exists public.unattributed_payments (
  stripe_checkout_session_id text primary key,
  -- the first event that reported it, and that event as received
  stripe_event_id text not null references public.stripe_events (id),
  payload jsonb not null,
  amount_cents bigint not null,
  currency text not null,
  -- as the session names it (metadata.pack_id, or the pack of metadata.price_id); it may not
  -- be a pack the ledger sells (attribution then fails until it is added)
  pack_id text,
  stripe_payment_intent_id text,
  stripe_customer_id text,
  customer_email text,
  -- what the session named, as Stripe sent it: neither is a known user
  client_reference_id text,
  metadata_user_id text,
  received_at timestamptz not null default now(),
  -- a refund or dispute of the payment that arrived while it was unattributed: it can no
  -- longer be attributed (the customer has, or may get, the money back)
  refund_or_dispute_event_id text references public.stripe_events (id),
  -- set once, by attribute_payment or by a later event of the session naming a known user
  attributed_user_id uuid references auth.users (id) on delete set null,
  attributed_at timestamptz,
  -- The purchase the attribution made: attributed_user_id's token_transactions row. A link kept
  -- as data, with no foreign key: this table is global (one row per checkout session, whoever
  -- pays) and token_transactions is per user, so on Citus it could not be checked (no foreign
  -- key from a coordinator table to a distributed one). (attributed_user_id,
  -- purchase_transaction_id) is the purchase's key; when the user is deleted,
  -- attributed_user_id goes null and the id names a row that is gone with them.
  purchase_transaction_id uuid
);
create index if not exists unattributed_payments_payment_intent_idx
  on public.unattributed_payments (stripe_payment_intent_id) where stripe_payment_intent_id is not null;
create index if not exists unattributed_payments_received_at_idx
  on public.unattributed_payments (received_at) where attributed_at is null;

-- Refund and dispute state of each purchase (state, not ledger: it is updated in place).
-- Keyed by user, as the purchase it belongs to (docs/scaling.md); its writers set user_id from
-- the purchase.
create table if not exists private.purchase_clawback_state (
  user_id uuid not null,
  purchase_id uuid not null,
  amount_refunded_cents bigint not null default 0,
  dispute_id text,
  dispute_cents bigint not null default 0,
  dispute_active boolean not null default false,
  -- the dispute was closed in the customer's favour (kept even if `created` arrives later)
  dispute_closed boolean not null default false,
  updated_at timestamptz not null default now(),
  constraint purchase_clawback_state_pkey primary key (user_id, purchase_id),
  constraint purchase_clawback_state_purchase_id_fkey foreign key (user_id, purchase_id)
    references public.token_transactions (user_id, id) on delete cascade
);

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
    -- a partition's row (token_usage) is named by its table
    message = format('%s is an append-only ledger: rows are never %s.',
      coalesce((select c.relname from pg_catalog.pg_inherits i join pg_catalog.pg_class c on c.oid = i.inhparent
                 where i.inhrelid = tg_relid), tg_table_name),
      lower(tg_op) || 'd'),
    hint = 'Record a correcting row through the ledger RPCs instead.';
end;
$$;
revoke execute on function private.reject_ledger_change() from public, anon, authenticated, service_role;

do $$
declare
  t text;
begin
  foreach t in array array['token_transactions', 'token_usage', 'token_drips', 'token_usage_archives'] loop
    execute format('drop trigger if exists %I on public.%I', t || '_append_only', t);
    execute format(
      'create trigger %I before update or delete on public.%I for each row execute function private.reject_ledger_change()',
      t || '_append_only', t
    );
  end loop;
end
$$;

------------------------------------------------------------------------------------------
-- Row level security and table privileges
------------------------------------------------------------------------------------------

-- A signed-in user reads its own rows; nobody writes directly (balance changes go through
-- the RPCs). Supabase grants ALL on new public tables to anon, authenticated and
-- service_role, so the privileges are cut back explicitly: RLS alone would still let a
-- granted role try.
do $$
declare
  t text;
begin
  foreach t in array array['token_transactions', 'token_drips', 'token_usage', 'customer_subscriptions', 'token_usage_archives'] loop
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

alter table public.subscription_plans enable row level security;
alter table public.stripe_customers enable row level security;
alter table public.token_holds enable row level security;
alter table public.stripe_events enable row level security;
revoke all on table public.subscription_plans, public.stripe_customers, public.token_holds, public.stripe_events
  from anon, authenticated, service_role;
grant select on table public.subscription_plans to anon, authenticated;
grant select, insert, update on table public.subscription_plans to service_role;
grant select on table public.stripe_customers to authenticated;
grant select, insert, update, delete on table public.stripe_customers to service_role;
drop policy if exists "anyone reads active plans" on public.subscription_plans;
create policy "anyone reads active plans" on public.subscription_plans for select to anon, authenticated using (active);
drop policy if exists "users read their own rows" on public.stripe_customers;
create policy "users read their own rows" on public.stripe_customers
  for select to authenticated using ((select auth.uid()) = user_id);
grant select on table public.token_holds to authenticated, service_role;
drop policy if exists "users read their own rows" on public.token_holds;
create policy "users read their own rows" on public.token_holds
  for select to authenticated using ((select auth.uid()) = user_id);
-- Stripe events are the service's business (the webhook writes them through its RPC), and so
-- are unattributed payments (other people's payments and e-mail addresses; written only by
-- handle_stripe_event and attribute_payment).
alter table public.unattributed_payments enable row level security;
alter table public.stripe_subscriptions enable row level security;
revoke all on table public.unattributed_payments, public.stripe_subscriptions from anon, authenticated, service_role;
grant select on table public.stripe_events, public.unattributed_payments to service_role;
-- The subscription directory follows customer_subscriptions (its trigger writes it): read-only.
grant select on table public.stripe_subscriptions to service_role;
revoke all on table private.purchase_clawback_state from public;

-- Subscriptions: users read their own (policy above); only the service writes.
grant insert, update, delete on table public.customer_subscriptions to service_role;
-- Drip failures are for operators: the service reads them and clears a fixed one.
alter table public.drip_failures enable row level security;
revoke all on table public.drip_failures from anon, authenticated, service_role;
grant select, delete on table public.drip_failures to service_role;
