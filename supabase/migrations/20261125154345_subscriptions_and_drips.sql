-- Subscriptions and 28-day drips with rollover and expiry: the schedule trigger, the drip
-- engine, bringing a user up to date (settle_user), and the drip and expiry RPCs.
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
-- The schedule
------------------------------------------------------------------------------------------

-- Keeps the schedule columns true whatever writes the row (webhook, operator by hand), and
-- refuses what would break the ledger behind its back: a subscription never changes user
-- (its lots and drips stay with the user they were issued to: 42501), and canceled and
-- incomplete_expired are final, as in Stripe (23514; a new subscription is a new row).
-- Security definer: service_role writes subscriptions but may not write token_balances.
create or replace function private.subscription_schedule()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_plan public.subscription_plans;
  v_cycle integer;
begin
  new.updated_at := now();
  if tg_op = 'UPDATE' then
    if new.user_id is distinct from old.user_id and old.user_id is not null then
      raise exception using errcode = '42501',
        message = 'A subscription belongs to one user: customer_subscriptions.user_id never changes.',
        detail = format('subscription %s, user %s', old.id, old.user_id),
        hint = 'Cancel it and record a new subscription for the other user.';
    end if;
    if old.status in ('canceled', 'incomplete_expired') and new.status is distinct from old.status then
      raise exception using errcode = '23514',
        message = format('A %s subscription stays %s.', old.status, old.status),
        detail = format('subscription %s', old.id),
        hint = 'A customer who subscribes again gets a new subscription.';
    end if;
  end if;
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
    if new.next_cycle_number = new.legacy_last_cycle + 1 then
      -- a legacy subscription now known to be active: it continues with the cycle after its
      -- last legacy one, or with the cycle under way if that one has begun since
      v_cycle := greatest(new.next_cycle_number, private.cycle_in_progress(new.drip_anchor, v_plan.drip_interval, now()));
    else
      -- drips start or resume (e.g. switched to a drip plan): the cycle grid stays on the
      -- anchor and the first cycle is the first that starts at or after the change; cycles
      -- that began without drips are not owed (a plan change takes effect at the next cycle)
      v_cycle := private.cycle_in_progress(new.drip_anchor, v_plan.drip_interval, now());
      if private.add_intervals(new.drip_anchor, v_plan.drip_interval, v_cycle - 1) < now() then
        v_cycle := v_cycle + 1;
      end if;
      v_cycle := greatest(new.next_cycle_number, v_cycle);
    end if;
  elsif new.next_cycle_number = 1 or new.next_drip_at is null then
    -- nothing issued yet (the schedule follows the anchor), or a row written past cycle 1
    -- without a schedule: the cycle grid stays on the anchor
    v_cycle := new.next_cycle_number;
  end if;
  if v_cycle is not null then
    -- never a cycle the legacy system dripped for this user (another row may hold them)
    new.next_cycle_number := private.after_legacy_cycles(new.user_id, new.drip_anchor, v_plan.drip_interval, v_cycle);
    new.next_drip_at := private.add_intervals(new.drip_anchor, v_plan.drip_interval, new.next_cycle_number - 1);
  end if;
  return new;
end;
$$;
revoke execute on function private.subscription_schedule() from public, anon, authenticated, service_role;

-- Only when what decides the schedule changes: the drip engine's own updates
-- (next_cycle_number, next_drip_at) skip the trigger.
drop trigger if exists customer_subscriptions_schedule on public.customer_subscriptions;
create trigger customer_subscriptions_schedule
  before insert or update of user_id, plan_id, status, drip_anchor on public.customer_subscriptions
  for each row execute function private.subscription_schedule();

-- A drip that falls due earlier than the balance row's next_due_at lowers it, whatever wrote
-- the schedule (the trigger above, the webhook, an operator by hand), so the fast path of a
-- spend never skips a due drip. One indexed UPDATE that usually changes nothing (a bulk insert
-- of subscriptions pays little). The drip engine only moves schedules later: the WHEN clauses
-- keep the function out of its batches.
create or replace function private.subscription_due()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  update public.token_balances b set next_due_at = new.next_drip_at
   where b.user_id = new.user_id and b.next_due_at > new.next_drip_at;
  return null;
end;
$$;
revoke execute on function private.subscription_due() from public, anon, authenticated, service_role;

drop trigger if exists customer_subscriptions_due on public.customer_subscriptions;
create trigger customer_subscriptions_due
  after insert on public.customer_subscriptions
  for each row when (new.next_drip_at is not null) execute function private.subscription_due();
drop trigger if exists customer_subscriptions_due_earlier on public.customer_subscriptions;
create trigger customer_subscriptions_due_earlier
  after update on public.customer_subscriptions
  for each row when (new.next_drip_at is not null and (old.next_drip_at is null or new.next_drip_at < old.next_drip_at
                                                     or new.user_id is distinct from old.user_id))
  execute function private.subscription_due();

-- Cycle numbers only go forward: set back, the drip engine would issue a cycle again (or fail
-- on the one already issued). Forward (skipping cycles) stays the operator's call. The WHEN
-- clause keeps the engine's own updates from calling anything.
create or replace function private.reject_cycle_rewind()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using errcode = '23514',
    message = 'A subscription''s next_cycle_number never goes back: its cycles are issued once.',
    detail = format('subscription %s: next_cycle_number %s, asked %s', old.id, old.next_cycle_number, new.next_cycle_number),
    hint = 'Move it forward to skip cycles; cycles already issued or skipped stay so.';
end;
$$;
revoke execute on function private.reject_cycle_rewind() from public, anon, authenticated, service_role;
drop trigger if exists customer_subscriptions_cycles_forward on public.customer_subscriptions;
create trigger customer_subscriptions_cycles_forward
  before update of next_cycle_number on public.customer_subscriptions
  for each row when (new.next_cycle_number < old.next_cycle_number)
  execute function private.reject_cycle_rewind();

-- The global directory of Stripe subscriptions (public.stripe_subscriptions) follows this
-- table, whoever writes it (the webhook, the service by hand): a Stripe subscription id names
-- one user across the ledger, while this table's own key on it is per user (docs/scaling.md).
-- A row naming an id another user's subscription holds fails (23505), as the global unique
-- index did; a concurrent one waits for the first and then fails. A deleted row, or one whose
-- id changes, frees its id. Security definer: service_role may not write the directory.
create or replace function private.stripe_subscription_directory()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_owner uuid;
begin
  if tg_op = 'UPDATE' and new.stripe_subscription_id is not distinct from old.stripe_subscription_id then
    return null;
  end if;
  if tg_op <> 'INSERT' and old.stripe_subscription_id is not null then
    delete from public.stripe_subscriptions d
     where d.stripe_subscription_id = old.stripe_subscription_id and d.user_id = old.user_id;
  end if;
  if tg_op <> 'DELETE' and new.stripe_subscription_id is not null then
    insert into public.stripe_subscriptions (stripe_subscription_id, user_id) values (new.stripe_subscription_id, new.user_id)
    on conflict (stripe_subscription_id) do nothing;
    select d.user_id into v_owner from public.stripe_subscriptions d where d.stripe_subscription_id = new.stripe_subscription_id;
    if v_owner <> new.user_id then
      raise exception using errcode = '23505',
        message = format('Stripe subscription %s belongs to another user.', new.stripe_subscription_id),
        detail = format('recorded for user %s; this row names user %s', v_owner, new.user_id),
        hint = 'A Stripe subscription is one user''s: public.stripe_subscriptions names its user.';
    end if;
  end if;
  return null;
end;
$$;
revoke execute on function private.stripe_subscription_directory() from public, anon, authenticated, service_role;
-- Not `update of stripe_subscription_id` alone: the webhook's upserts and the drip engine never
-- set it, so their updates skip the trigger.
drop trigger if exists customer_subscriptions_stripe_directory on public.customer_subscriptions;
create trigger customer_subscriptions_stripe_directory
  after insert or delete or update of stripe_subscription_id on public.customer_subscriptions
  for each row execute function private.stripe_subscription_directory();

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
              where l2.subscription_id = v_sub.id and l2.has_tokens and l2.expires_at <= v_start) x
        where l.user_id = v_sub.user_id and l.id = x.id
        returning x.remaining
      )
      select coalesce(sum(lapsed.remaining), 0) into v_expired from lapsed;

      -- 2. what carries over, cut to max_rollover_tokens (the soonest-expiring tokens go first)
      select coalesce(sum(l.remaining), 0) into v_carried
        from public.token_lots l where l.subscription_id = v_sub.id and l.has_tokens;
      v_cut := greatest(v_carried - coalesce(v_plan.max_rollover_tokens, v_carried), 0);
      if v_cut > 0 then
        with ordered as (
          select l.id, l.remaining,
                 sum(l.remaining) over (order by l.expires_at, l.created_at, l.id) as running
          from public.token_lots l where l.subscription_id = v_sub.id and l.has_tokens
        ), cut as (
          select o.id, least(o.remaining, v_cut - (o.running - o.remaining)) as take
          from ordered o where o.running - o.remaining < v_cut
        )
        update public.token_lots l set remaining = l.remaining - cut.take from cut
         where l.user_id = v_sub.user_id and l.id = cut.id;
      end if;
      select count(*) into v_cycles
        from public.token_lots l where l.subscription_id = v_sub.id and l.has_tokens;

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
revoke execute on function private.drip_subscription(uuid, timestamptz) from public, anon, authenticated, service_role;

-- The common case of a run_due_drips batch (one cycle due, a dripping status, a plan without
-- a rollover cap, one due subscription per user in the batch) in one statement for the whole
-- batch: row by row, each subscription costs a dozen statements. Everything else (catch-up of
-- several cycles, capped plans, skipped cycles, a user with two due subscriptions) goes
-- through private.drip_subscription one subscription at a time. Both write the same rows.
--
-- One cycle for each subscription of p_ids, set-based. The caller holds the users' balance
-- rows and guarantees the batch is simple (the common case above). Returns (cycles, dripped, expired).
create or replace function private.drip_simple_batch(p_ids uuid[], p_as_of timestamptz)
returns table (cycles integer, dripped bigint, expired bigint)
language sql
set search_path = pg_catalog, pg_temp
as $$
  with batch as (
    select s.id as sub_id, s.user_id, s.next_cycle_number as cycle, s.next_drip_at as start_at,
           -- private.add_intervals written out: a function with its own search_path is not
           -- inlined, and calling it per row costs more than the rest of the batch.
           ((s.next_drip_at at time zone 'UTC') + p.drip_interval) at time zone 'UTC' as end_at,
           p.id as plan_id, p.drip_tokens, p.max_rollover_cycles,
           ((s.next_drip_at at time zone 'UTC') + (p.max_rollover_cycles + 1) * p.drip_interval) at time zone 'UTC'
             as lot_expires_at
    from unnest(p_ids) as ids (id)
    join public.customer_subscriptions s on s.id = ids.id
    join public.subscription_plans p on p.id = s.plan_id
    where s.next_drip_at <= p_as_of
  ),
  -- Each subscription's drip lots, read per row (lateral): a CTE joined to batch again is
  -- planned for the 10 rows an unnest is estimated at, and became a nested loop comparing every
  -- pair of the batch (25,000,000 comparisons for 5,000 subscriptions; docs/benchmarks.md).
  -- All CTEs read the statement's snapshot, so expire_lots does not change what this reads.
  expire_lots as (
    update public.token_lots l set remaining = 0
    from batch b
    where l.subscription_id = b.sub_id and l.has_tokens and l.expires_at <= b.start_at
  ),
  cycle_rows as (
    select b.*, st.expired, st.carried, st.carried_lots, bal.balance, least(bal.debt, b.drip_tokens) as repay,
           gen_random_uuid() as drip_id
    from batch b
    cross join lateral (
      select coalesce(sum(l.remaining) filter (where l.expires_at <= b.start_at), 0)::bigint as expired,
             coalesce(sum(l.remaining) filter (where l.expires_at > b.start_at), 0)::bigint as carried,
             (count(l.id) filter (where l.expires_at > b.start_at))::integer as carried_lots
      from public.token_lots l
      where l.subscription_id = b.sub_id and l.has_tokens
    ) st
    join public.token_balances bal on bal.user_id = b.user_id
  ),
  drips as (
    insert into public.token_drips (
      id, user_id, subscription_id, plan_id, drip_amount, drip_date, cycle_number,
      rollover_from_previous, rollover_cycles_count, expired_tokens,
      balance_before, balance_after, billing_period_start, billing_period_end, metadata, created_at
    )
    select r.drip_id, r.user_id, r.sub_id, r.plan_id, r.drip_tokens, r.start_at, r.cycle,
           r.carried, r.carried_lots, r.expired,
           r.balance, r.balance - r.expired + r.drip_tokens, r.start_at, r.end_at,
           jsonb_build_object('plan_id', r.plan_id, 'max_rollover_cycles', r.max_rollover_cycles), now()
    from cycle_rows r
  ),
  lots as (
    insert into public.token_lots (user_id, source, original, remaining, expires_at, subscription_id, drip_id, created_at)
    select r.user_id, 'drip', r.drip_tokens, r.drip_tokens - r.repay, r.lot_expires_at, r.sub_id, r.drip_id, r.start_at
    from cycle_rows r
  ),
  balances as (
    update public.token_balances t
       set balance = t.balance - r.expired + r.drip_tokens, debt = t.debt - r.repay, updated_at = now()
    from cycle_rows r
    where t.user_id = r.user_id
  ),
  schedules as (
    update public.customer_subscriptions s
       set next_cycle_number = s.next_cycle_number + 1, next_drip_at = r.end_at, updated_at = now()
    from cycle_rows r
    where s.id = r.sub_id
  )
  select count(*)::integer, coalesce(sum(r.drip_tokens), 0)::bigint, coalesce(sum(r.expired), 0)::bigint
  from cycle_rows r
$$;
revoke execute on function private.drip_simple_batch(uuid[], timestamptz) from public, anon, authenticated, service_role;

-- drip_subscription for one subscription, isolated: when it fails, its work is undone, the
-- failure is recorded in drip_failures (the subscription is set aside until an operator
-- clears it) and the result is null, so the caller goes on with the others. A
-- subtransaction each: only callers that would otherwise fail for everyone use it.
create or replace function private.try_drip_subscription(p_subscription_id uuid, p_as_of timestamptz)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_state text;
  v_message text;
  v_detail text;
  v_hint text;
begin
  return private.drip_subscription(p_subscription_id, p_as_of);
exception when others then
  get stacked diagnostics v_state = returned_sqlstate, v_message = message_text,
    v_detail = pg_exception_detail, v_hint = pg_exception_hint;
  insert into public.drip_failures as f (subscription_id, user_id, next_cycle_number, next_drip_at, as_of,
                                         sqlstate, message, detail, hint)
  select s.id, s.user_id, s.next_cycle_number, s.next_drip_at, p_as_of,
         v_state, v_message, nullif(v_detail, ''), nullif(v_hint, '')
  from public.customer_subscriptions s where s.id = p_subscription_id
  on conflict (user_id, subscription_id) do update set
    next_cycle_number = excluded.next_cycle_number, next_drip_at = excluded.next_drip_at, as_of = excluded.as_of,
    sqlstate = excluded.sqlstate, message = excluded.message, detail = excluded.detail, hint = excluded.hint,
    failed_at = now();
  return null;
end;
$$;
revoke execute on function private.try_drip_subscription(uuid, timestamptz) from public, anon, authenticated, service_role;

-- Bring a user's ledger up to p_as_of before a change: due drips first (they record drip
-- expiry at their boundaries), then every other lapsed lot leaves through an `expiration`
-- transaction. Returns the tokens expired by those transactions. Caller holds the user's lock.
create or replace function private.settle_user(p_user_id uuid, p_as_of timestamptz)
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
  -- A subscription whose drip fails is set aside (drip_failures): the user's call goes on.
  for v_sub_id in
    select s.id from public.customer_subscriptions s
    where s.user_id = p_user_id and s.next_drip_at <= p_as_of
      and not exists (select 1 from public.drip_failures f where f.user_id = s.user_id and f.subscription_id = s.id)
    order by s.id
  loop
    perform private.try_drip_subscription(v_sub_id, p_as_of);
  end loop;

  for v_lot in
    select l.id, l.remaining, l.source, l.expires_at
    from public.token_lots l
    where l.user_id = p_user_id and l.has_tokens and l.expires_at <= p_as_of
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
revoke execute on function private.settle_user(uuid, timestamptz) from public, anon, authenticated, service_role;

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
  perform private.require_service('Only the service runs drips.');
  perform private.check_as_of(p_as_of);
  select s.user_id into v_user from public.customer_subscriptions s where s.id = p_subscription_id;
  if v_user is null then
    perform private.invalid(format('Unknown subscription %s.', p_subscription_id));
  end if;
  perform private.lock_balance(v_user); -- the user's lock first, then the subscription row
  -- Not isolated: the caller (an operator, invoice.paid) sees the error. Success clears a
  -- failure recorded earlier, so this is also how an operator retries a fixed subscription.
  v_result := private.drip_subscription(p_subscription_id, p_as_of);
  delete from public.drip_failures f where f.user_id = v_user and f.subscription_id = p_subscription_id;
  return v_result || jsonb_build_object(
    'balance_after', (select b.balance from public.token_balances b where b.user_id = v_user));
end;
$$;
revoke execute on function public.run_drip(uuid, timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.run_drip(uuid, timestamptz) to service_role;

-- One batch: up to p_limit due subscriptions whose users no other transaction holds (FOR
-- UPDATE SKIP LOCKED on the subscription and balance rows; the balance row is the per-user
-- lock point), in one transaction. Two overlapping runs split the work. The pg_cron job
-- token-drips calls it every 5 minutes with p_limit 5000; a backlog drains over the next runs.
-- A subscription whose drip fails does not stop the batch: when the set-based statement
-- fails, its subscriptions go one at a time, each isolated (private.try_drip_subscription);
-- the failing one is recorded in drip_failures and later batches skip it.
create or replace function public.run_due_drips(p_as_of timestamptz default now(), p_limit integer default 1000)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_ids uuid[];
  v_users uuid[];
  v_simple_flags boolean[];
  v_simple uuid[];
  v_rest uuid[];
  v_id uuid;
  v_result jsonb;
  v_cycles integer := 0;
  v_dripped bigint := 0;
  v_expired bigint := 0;
  v_failed integer := 0;
  v_batch record;
begin
  perform private.require_service('Only the service runs drips.');
  perform private.check_as_of(p_as_of);
  if p_limit is null or p_limit < 1 or p_limit > 100000 then
    perform private.invalid('p_limit must be between 1 and 100000.');
  end if;

  -- Take the batch: due subscriptions whose users no other transaction holds, and whether
  -- each is simple (one cycle due, a dripping status, a plan without a rollover cap).
  select coalesce(array_agg(due.id), '{}'), coalesce(array_agg(due.user_id), '{}'), coalesce(array_agg(due.simple), '{}')
    into v_ids, v_users, v_simple_flags
  from (
    select s.id, s.user_id,
           coalesce(s.status in ('active', 'trialing') and p.drip_tokens > 0 and p.max_rollover_tokens is null
                    and ((s.next_drip_at at time zone 'UTC') + p.drip_interval) at time zone 'UTC' > p_as_of, false) as simple
    from public.customer_subscriptions s
    join public.token_balances b on b.user_id = s.user_id
    left join public.subscription_plans p on p.id = s.plan_id
    where s.next_drip_at <= p_as_of and s.status <> 'incomplete'
      and not exists (select 1 from public.drip_failures f where f.user_id = s.user_id and f.subscription_id = s.id)
    order by s.next_drip_at, s.id
    limit p_limit
    -- Both rows: a subscription another run just advanced is re-checked against p_as_of
    -- (locking only the balance row would keep this statement's stale view of it).
    for update of s, b skip locked
  ) due;

  -- A user with two due subscriptions in the batch goes one subscription at a time, so each
  -- drip row sees the balance the previous one left.
  select coalesce(array_agg(x.id) filter (where x.simple and x.per_user = 1), '{}'),
         coalesce(array_agg(x.id) filter (where not (x.simple and x.per_user = 1)), '{}')
    into v_simple, v_rest
  from (
    select u.id, u.simple, count(*) over (partition by u.user_id) as per_user
    from unnest(v_ids, v_users, v_simple_flags) as u (id, user_id, simple)
  ) x;

  if cardinality(v_simple) > 0 then
    begin
      select * into v_batch from private.drip_simple_batch(v_simple, p_as_of);
      v_cycles := v_batch.cycles;
      v_dripped := v_batch.dripped;
      v_expired := v_batch.expired;
    exception when others then
      -- Undone: one of them fails. Every subscription of the batch goes one at a time instead.
      v_rest := v_ids;
    end;
  end if;

  -- The rest, one subscription at a time, in due order, each isolated.
  foreach v_id in array v_rest loop
    v_result := private.try_drip_subscription(v_id, p_as_of);
    if v_result is null then
      v_failed := v_failed + 1;
    else
      v_cycles := v_cycles + (v_result ->> 'cycles_issued')::integer;
      v_dripped := v_dripped + (v_result ->> 'tokens_dripped')::bigint;
      v_expired := v_expired + (v_result ->> 'tokens_expired')::bigint;
    end if;
  end loop;

  return jsonb_build_object('subscriptions', cardinality(v_ids), 'cycles_issued', v_cycles,
    'tokens_dripped', v_dripped, 'tokens_expired', v_expired, 'subscriptions_failed', v_failed);
end;
$$;
revoke execute on function public.run_due_drips(timestamptz, integer) from public, anon, authenticated, service_role;
grant execute on function public.run_due_drips(timestamptz, integer) to service_role;

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
  perform private.require_service('Only the service expires tokens.');
  perform private.check_as_of(p_as_of);
  for v_user in
    select distinct l.user_id from public.token_lots l
    where l.has_tokens and l.expires_at <= p_as_of
    order by l.user_id
  loop
    perform private.lock_balance(v_user);
    -- The list was read before the locks: a transaction this sweep waited for may have spent
    -- or swept the user's lapsed lots meanwhile (an overlapping sweep, a spend of lots that
    -- lapse by p_as_of but not by its own now()). Such a user is left alone, as if that
    -- transaction had come first: no due drips issued here, and not counted twice.
    continue when not exists (select 1 from public.token_lots l
                              where l.user_id = v_user and l.has_tokens and l.expires_at <= p_as_of);
    v_tokens := v_tokens + private.settle_user(v_user, p_as_of);
    v_users := v_users + 1;
  end loop;
  return jsonb_build_object('users', v_users, 'tokens_expired', v_tokens);
end;
$$;
revoke execute on function public.expire_tokens(timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.expire_tokens(timestamptz) to service_role;
