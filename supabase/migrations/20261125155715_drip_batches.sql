-- run_due_drips in set-based batches.
--
-- The cron job drips for the whole user base every 5 minutes; row by row, each subscription
-- cost a dozen statements. Here the common case of a batch (one cycle due, a dripping status,
-- a plan without a rollover cap, one due subscription per user in the batch) is processed
-- with one statement for the whole batch; everything else (catch-up of several cycles,
-- capped plans, skipped cycles, a user with two due subscriptions) still goes through
-- private.drip_subscription one subscription at a time. Both paths write the same rows.

-- Due subscriptions in due order, straight from the index (no sort of everything due).
drop index if exists public.customer_subscriptions_next_drip_at_idx;
create index if not exists customer_subscriptions_next_drip_at_idx
  on public.customer_subscriptions (next_drip_at, id) where next_drip_at is not null;

-- The schedule trigger only needs to run when what decides the schedule changes; the drip
-- engine's own updates (next_cycle_number, next_drip_at) skip it.
drop trigger if exists customer_subscriptions_schedule on public.customer_subscriptions;
create trigger customer_subscriptions_schedule
  before insert or update of user_id, plan_id, status, drip_anchor on public.customer_subscriptions
  for each row execute function private.subscription_schedule();

-- Lots are internal state: their links to the drip and subscription they came from need no
-- foreign-key checks on every insert (rows go away with their user through user_id).
alter table public.token_lots drop constraint if exists token_lots_subscription_id_fkey;
alter table public.token_lots drop constraint if exists token_lots_drip_id_fkey;
-- Most lots come from drips and have no transaction: index only the ones that do.
drop index if exists public.token_lots_transaction_id_idx;
create index if not exists token_lots_transaction_id_idx on public.token_lots (transaction_id) where transaction_id is not null;

-- One cycle for each subscription of p_ids, set-based. The caller holds the users' balance
-- rows and guarantees the batch is simple (see above). Returns (cycles, dripped, expired).
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
  lot_state as (
    select b.sub_id, st.expired, st.carried, st.carried_lots
    from batch b
    cross join lateral (
      select coalesce(sum(l.remaining) filter (where l.expires_at <= b.start_at), 0)::bigint as expired,
             coalesce(sum(l.remaining) filter (where l.expires_at > b.start_at), 0)::bigint as carried,
             (count(l.id) filter (where l.expires_at > b.start_at))::integer as carried_lots
      from public.token_lots l
      where l.subscription_id = b.sub_id and l.remaining > 0
    ) st
  ),
  expire_lots as (
    update public.token_lots l set remaining = 0
    from batch b
    where l.subscription_id = b.sub_id and l.remaining > 0 and l.expires_at <= b.start_at
  ),
  cycle_rows as (
    select b.*, ls.expired, ls.carried, ls.carried_lots, bal.balance, least(bal.debt, b.drip_tokens) as repay,
           gen_random_uuid() as drip_id
    from batch b
    join lot_state ls on ls.sub_id = b.sub_id
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
  v_batch record;
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
    select * into v_batch from private.drip_simple_batch(v_simple, p_as_of);
    v_cycles := v_batch.cycles;
    v_dripped := v_batch.dripped;
    v_expired := v_batch.expired;
  end if;

  -- The rest, one subscription at a time, in due order.
  foreach v_id in array v_rest loop
    v_result := private.drip_subscription(v_id, p_as_of);
    v_cycles := v_cycles + (v_result ->> 'cycles_issued')::integer;
    v_dripped := v_dripped + (v_result ->> 'tokens_dripped')::bigint;
    v_expired := v_expired + (v_result ->> 'tokens_expired')::bigint;
  end loop;

  return jsonb_build_object('subscriptions', cardinality(v_ids), 'cycles_issued', v_cycles,
    'tokens_dripped', v_dripped, 'tokens_expired', v_expired);
end;
$$;

revoke execute on all functions in schema private from public, anon, authenticated, service_role;
revoke execute on function public.run_due_drips(timestamptz, integer) from public, anon, authenticated, service_role;
grant execute on function public.run_due_drips(timestamptz, integer) to service_role;
