-- Subscriptions and 28-day drips with rollover and expiry.
--
-- Rules (docs/api.md repeats them for app developers):
--   * Cycle n of a subscription starts at drip_anchor + (n-1) x drip_interval, computed on
--     UTC timestamps with day/time intervals only (no month arithmetic). Each cycle's end is
--     the next cycle's start; a plan change takes effect at the next cycle.
--   * Statuses that drip: active, trialing. A cycle that comes due while the subscription is
--     past_due, unpaid or paused is skipped (not owed, not issued later). An incomplete
--     subscription (first payment pending) is not processed: its due cycle waits for it.
--     Canceled subscriptions never drip again; their drip tokens expire on schedule.
--   * The drip of cycle n is a lot that expires when cycle n + max_rollover_cycles ends.
--     At each boundary, drip lots of the subscription that lapse are expired and recorded in
--     that cycle's token_drips row (expired_tokens), as is whatever max_rollover_tokens cuts.
--   * rollover_from_previous: earlier drip tokens of this subscription carried into the cycle.
--     rollover_cycles_count: how many earlier cycles' drip lots still hold tokens carried
--     into the cycle (0 when nothing carries over).

------------------------------------------------------------------------------------------
-- Plans
------------------------------------------------------------------------------------------

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
-- customer_subscriptions: the table token_drips.subscription_id points at, extended
------------------------------------------------------------------------------------------

alter table public.customer_subscriptions
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
  add column if not exists next_drip_at timestamptz;

-- NOT VALID: rows the product already has keep whatever status they hold.
alter table public.customer_subscriptions drop constraint if exists customer_subscriptions_status_check;
alter table public.customer_subscriptions add constraint customer_subscriptions_status_check check (
  status in ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused')
) not valid;
create unique index if not exists customer_subscriptions_stripe_subscription_id_key
  on public.customer_subscriptions (stripe_subscription_id);
create index if not exists customer_subscriptions_plan_id_idx on public.customer_subscriptions (plan_id);
-- run_due_drips finds due subscriptions through this index.
create index if not exists customer_subscriptions_next_drip_at_idx
  on public.customer_subscriptions (next_drip_at) where next_drip_at is not null;

-- Stripe customers linked to users (checkout.session.completed in subscription mode).
create table if not exists public.stripe_customers (
  stripe_customer_id text primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now()
);
create index if not exists stripe_customers_user_id_idx on public.stripe_customers (user_id);

------------------------------------------------------------------------------------------
-- token_drips: exact UTC timestamps, one row per (subscription, cycle), ledger checks
------------------------------------------------------------------------------------------

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
alter table public.token_drips
  add column if not exists plan_id text;

create unique index if not exists token_drips_subscription_cycle_key
  on public.token_drips (subscription_id, cycle_number) where not is_legacy;
alter table public.token_drips drop constraint if exists token_drips_ledger_check;
-- subscription_id may be null: a drip forgets a deleted subscription (the seed's ON DELETE SET
-- NULL); the engine always writes it.
alter table public.token_drips add constraint token_drips_ledger_check check (
  is_legacy or (
    cycle_number >= 1 and drip_amount >= 0
    and rollover_from_previous >= 0 and rollover_cycles_count >= 0 and expired_tokens >= 0
    and balance_after = balance_before + drip_amount - expired_tokens
    and billing_period_start is not null and billing_period_end > billing_period_start
  )
);

alter table public.token_lots
  add column if not exists subscription_id uuid references public.customer_subscriptions (id) on delete set null,
  add column if not exists drip_id uuid references public.token_drips (id) on delete cascade;
create index if not exists token_lots_subscription_idx on public.token_lots (subscription_id, expires_at)
  where remaining > 0 and subscription_id is not null;
create index if not exists token_lots_drip_id_idx on public.token_lots (drip_id) where drip_id is not null;

------------------------------------------------------------------------------------------
-- Schedule arithmetic
------------------------------------------------------------------------------------------

-- p_start + p_count x p_interval on UTC wall-clock timestamps: a day is always 24 hours,
-- whatever the session's time zone.
create or replace function private.add_intervals(p_start timestamptz, p_interval interval, p_count integer)
returns timestamptz
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select ((p_start at time zone 'UTC') + p_count * p_interval) at time zone 'UTC'
$$;

-- Keeps the schedule columns true whatever writes the row (webhook, operator by hand).
-- Security definer: service_role writes subscriptions but may not write token_balances.
create or replace function private.subscription_schedule()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_plan public.subscription_plans;
  v_elapsed bigint;
  v_step bigint;
begin
  new.updated_at := now();
  if tg_op = 'INSERT' or new.user_id is distinct from old.user_id then
    -- Every subscriber has a balance row: the drip engine locks it before anything else.
    insert into public.token_balances (user_id) values (new.user_id) on conflict (user_id) do nothing;
  elsif new.plan_id is not distinct from old.plan_id and new.status = old.status
        and new.drip_anchor = old.drip_anchor and new.next_drip_at is not null then
    return new; -- the drip engine advancing the schedule, or a change that does not touch it
  end if;
  select * into v_plan from public.subscription_plans p where p.id = new.plan_id;
  if new.status in ('canceled', 'incomplete_expired') or new.plan_id is null or coalesce(v_plan.drip_tokens, 0) = 0 then
    new.next_drip_at := null;
  elsif tg_op = 'UPDATE' and old.next_drip_at is null then
    -- drips start or resume (e.g. switched to a drip plan): the cycle grid stays on the anchor
    -- and the first cycle is the first that starts at or after the change; cycles that began
    -- without drips are not owed (a plan change takes effect at the next cycle)
    v_elapsed := (extract(epoch from now() - new.drip_anchor) * 1000000)::bigint;
    v_step := (extract(epoch from v_plan.drip_interval) * 1000000)::bigint;
    new.next_cycle_number := greatest(new.next_cycle_number,
      1 + case when v_elapsed > 0 then (v_elapsed + v_step - 1) / v_step else 0 end);
    new.next_drip_at := private.add_intervals(new.drip_anchor, v_plan.drip_interval, new.next_cycle_number - 1);
  elsif new.next_cycle_number = 1 then
    -- nothing issued yet: the schedule follows the anchor
    new.next_drip_at := new.drip_anchor;
  elsif new.next_drip_at is null then
    -- a row written past cycle 1 without a schedule: the cycle grid stays on the anchor
    new.next_drip_at := private.add_intervals(new.drip_anchor, v_plan.drip_interval, new.next_cycle_number - 1);
  end if;
  return new;
end;
$$;

drop trigger if exists customer_subscriptions_schedule on public.customer_subscriptions;
create trigger customer_subscriptions_schedule
  before insert or update on public.customer_subscriptions
  for each row execute function private.subscription_schedule();

------------------------------------------------------------------------------------------
-- The drip engine (caller holds the user's balance row lock)
------------------------------------------------------------------------------------------

-- Process every cycle of one subscription that starts at or before p_as_of, each once.
create or replace function private.drip_subscription(p_subscription_id uuid, p_as_of timestamptz)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sub public.customer_subscriptions;
  v_plan public.subscription_plans;
  v_start timestamptz;
  v_end timestamptz;
  v_expired bigint;
  v_carried bigint;
  v_cut bigint;
  v_cycles integer;
  v_bal public.token_balances;
  v_repay bigint;
  v_drip_id uuid;
  v_issued integer := 0;
  v_dripped bigint := 0;
  v_expired_total bigint := 0;
begin
  select * into strict v_sub from public.customer_subscriptions s where s.id = p_subscription_id for update;
  while v_sub.next_drip_at is not null and v_sub.next_drip_at <= p_as_of loop
    select * into strict v_plan from public.subscription_plans p where p.id = v_sub.plan_id;
    v_start := v_sub.next_drip_at;
    v_end := private.add_intervals(v_start, v_plan.drip_interval, 1);

    -- An incomplete subscription waits for its first payment: its first cycle stays due
    -- (issued once it turns active, or never if it expires) rather than being skipped.
    exit when v_sub.status = 'incomplete';
    if v_sub.status in ('active', 'trialing') then
      -- 1. drip lots of this subscription that lapse at this boundary
      with lapsed as (
        update public.token_lots l set remaining = 0
        from (select l2.id, l2.remaining from public.token_lots l2
              where l2.subscription_id = v_sub.id and l2.remaining > 0 and l2.expires_at <= v_start) x
        where l.id = x.id
        returning x.remaining
      )
      select coalesce(sum(lapsed.remaining), 0) into v_expired from lapsed;

      -- 2. what carries over, cut to max_rollover_tokens (the soonest-expiring tokens go first)
      select coalesce(sum(l.remaining), 0) into v_carried
        from public.token_lots l where l.subscription_id = v_sub.id and l.remaining > 0;
      v_cut := greatest(v_carried - coalesce(v_plan.max_rollover_tokens, v_carried), 0);
      if v_cut > 0 then
        with ordered as (
          select l.id, l.remaining,
                 sum(l.remaining) over (order by l.expires_at, l.created_at, l.id) as running
          from public.token_lots l where l.subscription_id = v_sub.id and l.remaining > 0
        ), cut as (
          select o.id, least(o.remaining, v_cut - (o.running - o.remaining)) as take
          from ordered o where o.running - o.remaining < v_cut
        )
        update public.token_lots l set remaining = l.remaining - cut.take from cut where l.id = cut.id;
      end if;
      select count(*) into v_cycles
        from public.token_lots l where l.subscription_id = v_sub.id and l.remaining > 0;

      -- 3. the new cycle's drip; it repays debt first
      select * into strict v_bal from public.token_balances b where b.user_id = v_sub.user_id;
      v_repay := least(v_bal.debt, v_plan.drip_tokens);
      v_drip_id := gen_random_uuid();
      insert into public.token_drips (
        id, user_id, subscription_id, plan_id, drip_amount, drip_date, cycle_number,
        rollover_from_previous, rollover_cycles_count, expired_tokens,
        balance_before, balance_after, billing_period_start, billing_period_end, metadata, created_at
      ) values (
        v_drip_id, v_sub.user_id, v_sub.id, v_plan.id, v_plan.drip_tokens, v_start, v_sub.next_cycle_number,
        v_carried - v_cut, v_cycles, v_expired + v_cut,
        v_bal.balance, v_bal.balance - v_expired - v_cut + v_plan.drip_tokens, v_start, v_end,
        jsonb_build_object('plan_id', v_plan.id, 'max_rollover_cycles', v_plan.max_rollover_cycles), now()
      );
      if v_plan.drip_tokens > 0 then
        insert into public.token_lots (user_id, source, original, remaining, expires_at, subscription_id, drip_id, created_at)
        values (v_sub.user_id, 'drip', v_plan.drip_tokens, v_plan.drip_tokens - v_repay,
                private.add_intervals(v_start, v_plan.drip_interval, v_plan.max_rollover_cycles + 1),
                v_sub.id, v_drip_id, v_start);
      end if;
      update public.token_balances b
         set balance = b.balance - v_expired - v_cut + v_plan.drip_tokens, debt = b.debt - v_repay, updated_at = now()
       where b.user_id = v_sub.user_id;

      v_issued := v_issued + 1;
      v_dripped := v_dripped + v_plan.drip_tokens;
      v_expired_total := v_expired_total + v_expired + v_cut;
    end if;

    update public.customer_subscriptions s
       set next_cycle_number = s.next_cycle_number + 1, next_drip_at = v_end
     where s.id = v_sub.id
    returning * into v_sub;
  end loop;

  return jsonb_build_object('subscription_id', p_subscription_id, 'cycles_issued', v_issued,
    'tokens_dripped', v_dripped, 'tokens_expired', v_expired_total);
end;
$$;

-- Bring a user's ledger up to p_as_of before a change: due drips first (they record drip
-- expiry at their boundaries), then every other lapsed lot leaves through an `expiration`
-- transaction. Returns the tokens expired by those transactions.
drop function if exists private.settle_user(uuid, timestamptz);
create function private.settle_user(p_user_id uuid, p_as_of timestamptz)
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sub_id uuid;
  v_lot record;
  v_tx public.token_transactions;
  v_expired bigint := 0;
begin
  for v_sub_id in
    select s.id from public.customer_subscriptions s
    where s.user_id = p_user_id and s.next_drip_at <= p_as_of
    order by s.id
  loop
    perform private.drip_subscription(v_sub_id, p_as_of);
  end loop;

  for v_lot in
    select l.id, l.remaining, l.source, l.expires_at
    from public.token_lots l
    where l.user_id = p_user_id and l.remaining > 0 and l.expires_at <= p_as_of
    order by l.expires_at, l.created_at, l.id
  loop
    v_tx := null;
    v_tx.user_id := p_user_id;
    v_tx.transaction_type := 'expiration';
    v_tx.token_amount := -v_lot.remaining;
    v_tx.source := 'expiry';
    v_tx.idempotency_key := 'expiration:' || v_lot.id;
    v_tx.metadata := jsonb_build_object('lot_id', v_lot.id, 'lot_source', v_lot.source, 'expired_at', v_lot.expires_at);
    perform private.post_transaction(v_tx, p_as_of, false, v_lot.id);
    v_expired := v_expired + v_lot.remaining;
  end loop;
  return v_expired;
end;
$$;

------------------------------------------------------------------------------------------
-- RPCs
------------------------------------------------------------------------------------------

create or replace function public.run_drip(p_subscription_id uuid, p_as_of timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid;
  v_result jsonb;
begin
  if private.caller_kind() <> 'service' then
    perform private.deny('Only the service runs drips.');
  end if;
  if p_as_of is null then
    perform private.invalid('p_as_of is required.');
  end if;
  select s.user_id into v_user from public.customer_subscriptions s where s.id = p_subscription_id;
  if v_user is null then
    perform private.invalid(format('Unknown subscription %s.', p_subscription_id));
  end if;
  perform private.lock_balance(v_user); -- the user's lock first, then the subscription row
  v_result := private.drip_subscription(p_subscription_id, p_as_of);
  return v_result || jsonb_build_object(
    'balance_after', (select b.balance from public.token_balances b where b.user_id = v_user));
end;
$$;

-- One batch: up to p_limit due subscriptions whose users no other transaction holds
-- (FOR UPDATE SKIP LOCKED on the balance rows, the per-user lock point), in one transaction.
-- Two overlapping runs split the work; call again until `subscriptions` is 0 (the pg_cron
-- job does, committing between batches).
create or replace function public.run_due_drips(p_as_of timestamptz default now(), p_limit integer default 1000)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_due record;
  v_result jsonb;
  v_subs integer := 0;
  v_issued integer := 0;
  v_dripped bigint := 0;
  v_expired bigint := 0;
begin
  if private.caller_kind() <> 'service' then
    perform private.deny('Only the service runs drips.');
  end if;
  if p_as_of is null then
    perform private.invalid('p_as_of is required.');
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 100000 then
    perform private.invalid('p_limit must be between 1 and 100000.');
  end if;
  for v_due in
    select s.id
    from public.customer_subscriptions s
    join public.token_balances b on b.user_id = s.user_id
    where s.next_drip_at <= p_as_of
    order by s.next_drip_at, s.id
    limit p_limit
    for update of b skip locked
  loop
    v_result := private.drip_subscription(v_due.id, p_as_of);
    v_subs := v_subs + 1;
    v_issued := v_issued + (v_result ->> 'cycles_issued')::integer;
    v_dripped := v_dripped + (v_result ->> 'tokens_dripped')::bigint;
    v_expired := v_expired + (v_result ->> 'tokens_expired')::bigint;
  end loop;
  return jsonb_build_object('subscriptions', v_subs, 'cycles_issued', v_issued,
    'tokens_dripped', v_dripped, 'tokens_expired', v_expired);
end;
$$;

-- Sweep lapsed lots of every user into `expiration` transactions (trial grants, expiring
-- admin grants, drip lots whose subscription no longer drips). Due drips of those users are
-- issued first, so drip expiry at a boundary is still recorded in its token_drips row.
create or replace function public.expire_tokens(p_as_of timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid;
  v_users integer := 0;
  v_tokens bigint := 0;
begin
  if private.caller_kind() <> 'service' then
    perform private.deny('Only the service expires tokens.');
  end if;
  if p_as_of is null then
    perform private.invalid('p_as_of is required.');
  end if;
  for v_user in
    select distinct l.user_id from public.token_lots l
    where l.remaining > 0 and l.expires_at <= p_as_of
    order by l.user_id
  loop
    perform private.lock_balance(v_user);
    v_tokens := v_tokens + private.settle_user(v_user, p_as_of);
    v_users := v_users + 1;
  end loop;
  return jsonb_build_object('users', v_users, 'tokens_expired', v_tokens);
end;
$$;

------------------------------------------------------------------------------------------
-- Privileges and row level security
------------------------------------------------------------------------------------------

alter table public.subscription_plans enable row level security;
alter table public.stripe_customers enable row level security;
revoke all on table public.subscription_plans, public.stripe_customers from anon, authenticated, service_role;
grant select on table public.subscription_plans to anon, authenticated;
grant select, insert, update on table public.subscription_plans to service_role;
grant select on table public.stripe_customers to authenticated;
grant select, insert, update, delete on table public.stripe_customers to service_role;
drop policy if exists "anyone reads active plans" on public.subscription_plans;
create policy "anyone reads active plans" on public.subscription_plans for select to anon, authenticated using (active);
drop policy if exists "users read their own rows" on public.stripe_customers;
create policy "users read their own rows" on public.stripe_customers
  for select to authenticated using ((select auth.uid()) = user_id);

-- Subscriptions: users read their own (policy from the first migration); only the service writes.
grant insert, update, delete on table public.customer_subscriptions to service_role;

revoke execute on all functions in schema private from public, anon, authenticated, service_role;
revoke execute on function
  public.run_drip(uuid, timestamptz),
  public.run_due_drips(timestamptz, integer),
  public.expire_tokens(timestamptz)
from public, anon, authenticated, service_role;
grant execute on function
  public.run_drip(uuid, timestamptz),
  public.run_due_drips(timestamptz, integer),
  public.expire_tokens(timestamptz)
to service_role;
