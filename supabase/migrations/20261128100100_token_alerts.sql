-- Low-balance alerts: an outbox row when a change takes a user's available balance below
-- their threshold.
--
-- Rule: an alert is written when a ledger change leaves the available balance (balance minus
-- active holds) below the threshold while it was at or above it just before that change. So
-- there is one alert per crossing, and the alert is re-armed by any rise to the threshold or
-- above (a credit, a released or lapsed hold): the next fall below is a new crossing. Nothing
-- needs to remember whether a user was alerted; the change itself says whether it crossed.
--
-- Where: AFTER INSERT triggers on the ledger rows that lower a balance (debits, drips that
-- expire more than they drip) and on new holds; usage rows are checked by their only two
-- writers, record_usage and settle_hold, right after the insert (as a trigger would), so that
-- the usual usage pays no query (below). All run in the writer's transaction, under the
-- user's balance row lock that every mutation takes first: concurrent changes of one user are
-- evaluated one after another, each against the state the previous one left, so a crossing is
-- seen by exactly one of them.
--
-- Cost: credits and legacy rows are never checked (WHEN clauses). A lowering change costs
-- one indexed query (the threshold and the user's active holds) and an insert only when it
-- crosses. A hold (reserve_tokens) carries its available_after, so it reads only the threshold.
-- record_usage's fast path reads the threshold and the balance row's held (at least the
-- active holds) in the UPDATE it makes anyway, and runs the check only when the balance was
-- at or above the threshold and the balance less held falls below it (so a user already
-- below pays no query either): as a trigger, the check cost 100 to 200 us of every usage
-- (docs/benchmarks.md).

------------------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------------------

-- A user's own threshold (no row: the default in ledger_settings.low_balance_threshold).
create table if not exists public.token_alert_preferences (
  user_id uuid primary key references auth.users (id) on delete cascade,
  -- 0 turns the user's alerts off.
  low_balance_threshold bigint not null check (low_balance_threshold >= 0),
  updated_at timestamptz not null default now()
);

-- The outbox. A row is written in the transaction of the change that crossed; a deliverer
-- (a Database Webhook, or an Edge Function draining with claim_token_alerts) sends it and
-- marks it delivered. Rows are facts about the past: they are not updated except for the
-- delivery columns.
create table if not exists public.token_alerts (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  kind text not null default 'low_balance' check (kind in ('low_balance')),
  threshold bigint not null,
  available_before bigint not null,
  available_after bigint not null,
  balance_after bigint not null,
  held bigint not null,
  -- The ledger row (or hold) whose change crossed the threshold.
  entry_kind text not null check (entry_kind in ('transaction', 'usage', 'drip', 'hold')),
  entry_id uuid not null,
  created_at timestamptz not null default now(),
  -- Delivery: a drainer's lease (claim_token_alerts), attempts, and when it was delivered.
  claimed_until timestamptz,
  attempts integer not null default 0,
  delivered_at timestamptz,
  -- user_id first, as in every key of a per-user table (docs/scaling.md)
  constraint token_alerts_pkey primary key (user_id, id)
);
create index if not exists token_alerts_user_id_created_at_idx on public.token_alerts (user_id, created_at);
-- The drainers name alerts by id alone (claim_token_alerts, mark_token_alerts_delivered).
create index if not exists token_alerts_id_idx on public.token_alerts (id);
-- What a drainer looks for: undelivered alerts, oldest first.
create index if not exists token_alerts_undelivered_idx on public.token_alerts (created_at, id) where delivered_at is null;

alter table public.token_alert_preferences enable row level security;
alter table public.token_alerts enable row level security;
revoke all on table public.token_alert_preferences, public.token_alerts from anon, authenticated, service_role;
-- Users read their own; they change their threshold through set_low_balance_threshold, and
-- the delivery columns change only through the drain RPCs.
grant select on table public.token_alert_preferences, public.token_alerts to authenticated, service_role;
drop policy if exists "users read their own rows" on public.token_alert_preferences;
create policy "users read their own rows" on public.token_alert_preferences
  for select to authenticated using ((select auth.uid()) = user_id);
drop policy if exists "users read their own rows" on public.token_alerts;
create policy "users read their own rows" on public.token_alerts
  for select to authenticated using ((select auth.uid()) = user_id);

-- Realtime: clients subscribe to their own alerts (Realtime applies the RLS policy above).
-- The publication exists on Supabase; a plain Postgres has none, and the migration must still
-- apply there.
do $$
begin
  if exists (select 1 from pg_catalog.pg_publication p where p.pubname = 'supabase_realtime')
     and not exists (select 1 from pg_catalog.pg_publication_tables t
                      where t.pubname = 'supabase_realtime' and t.schemaname = 'public' and t.tablename = 'token_alerts') then
    alter publication supabase_realtime add table public.token_alerts;
  end if;
end
$$;

------------------------------------------------------------------------------------------
-- The check (triggers; record_usage and settle_hold call it for usage)
------------------------------------------------------------------------------------------

-- The threshold that applies to a user (their own, else the default). Null when unknown.
create or replace function private.low_balance_threshold(p_user_id uuid)
returns bigint
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select coalesce(p.low_balance_threshold, s.low_balance_threshold)
            from public.ledger_settings s
            left join public.token_alert_preferences p on p.user_id = p_user_id
           where s.id);
end;
$$;

-- The check for a ledger row that lowered the balance: the available balance around it is the
-- row's balance_before / balance_after minus the user's active holds. For a settle (usage with
-- a hold), the settled hold counted before the change and no longer counts after it, whatever
-- order settle_hold updates the hold and writes the usage in. One statement reads the
-- threshold and the holds; an insert follows only on a crossing.
create or replace function private.check_low_balance(
  p_user_id uuid,
  p_balance_before bigint,
  p_balance_after bigint,
  p_hold_id uuid,
  p_entry_kind text,
  p_entry_id uuid
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_threshold bigint;
  v_held bigint;
  v_settled bigint;
begin
  select coalesce(p.low_balance_threshold, s.low_balance_threshold),
         (select coalesce(sum(h.tokens_held), 0)::bigint from public.token_holds h
           where h.user_id = p_user_id and h.status = 'held' and h.expires_at > now()
             and h.id is distinct from p_hold_id),
         coalesce((select h.tokens_held from public.token_holds h
                    where p_hold_id is not null and h.id = p_hold_id and h.expires_at > now()), 0)
    into v_threshold, v_held, v_settled
    from public.ledger_settings s
    left join public.token_alert_preferences p on p.user_id = p_user_id
   where s.id;
  if v_threshold > 0 and p_balance_before - v_held - v_settled >= v_threshold
     and p_balance_after - v_held < v_threshold then
    insert into public.token_alerts (user_id, threshold, available_before, available_after, balance_after, held,
                                     entry_kind, entry_id)
    values (p_user_id, v_threshold, p_balance_before - v_held - v_settled, p_balance_after - v_held, p_balance_after,
            v_held, p_entry_kind, p_entry_id);
  end if;
end;
$$;

-- token_transactions and token_drips (both have id, user_id, balance_before, balance_after).
create or replace function private.low_balance_after_change()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  perform private.check_low_balance(new.user_id, new.balance_before, new.balance_after, null,
    case tg_table_name when 'token_drips' then 'drip' else 'transaction' end, new.id);
  return null;
end;
$$;

-- A new hold: available falls by the tokens held; the hold carries the available after it,
-- so only the threshold is read (and the holds, only on a crossing).
create or replace function private.low_balance_after_hold()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_threshold bigint := private.low_balance_threshold(new.user_id);
  v_held bigint;
begin
  if v_threshold > 0 and new.available_after + new.tokens_held >= v_threshold and new.available_after < v_threshold then
    v_held := private.held_tokens(new.user_id, now());
    insert into public.token_alerts (user_id, threshold, available_before, available_after, balance_after, held,
                                     entry_kind, entry_id)
    values (new.user_id, v_threshold, new.available_after + new.tokens_held, new.available_after,
            new.available_after + v_held, v_held, 'hold', new.id);
  end if;
  return null;
end;
$$;

drop trigger if exists token_transactions_low_balance on public.token_transactions;
create trigger token_transactions_low_balance
  after insert on public.token_transactions
  for each row when (not new.is_legacy and new.token_amount < 0)
  execute function private.low_balance_after_change();
drop trigger if exists token_drips_low_balance on public.token_drips;
create trigger token_drips_low_balance
  after insert on public.token_drips
  for each row when (not new.is_legacy and new.balance_after < new.balance_before)
  execute function private.low_balance_after_change();
drop trigger if exists token_holds_low_balance on public.token_holds;
create trigger token_holds_low_balance
  after insert on public.token_holds
  for each row
  execute function private.low_balance_after_hold();

revoke execute on function
  private.low_balance_threshold(uuid),
  private.check_low_balance(uuid, bigint, bigint, uuid, text, uuid),
  private.low_balance_after_change(),
  private.low_balance_after_hold()
from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- RPCs: a user's threshold
------------------------------------------------------------------------------------------

create or replace function private.low_balance_threshold_result(p_user_id uuid)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object(
    'user_id', p_user_id,
    'threshold', coalesce(p.low_balance_threshold, s.low_balance_threshold),
    'is_default', p.user_id is null,
    'default_threshold', s.low_balance_threshold,
    'min', s.low_balance_threshold_min,
    'max', s.low_balance_threshold_max)
  from public.ledger_settings s
  left join public.token_alert_preferences p on p.user_id = p_user_id
  where s.id
$$;
revoke execute on function private.low_balance_threshold_result(uuid) from public, anon, authenticated, service_role;

-- get_low_balance_threshold: the threshold that applies to a user, and the limits.
create or replace function public.get_low_balance_threshold(p_user_id uuid default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return private.low_balance_threshold_result(private.target_user(p_user_id, true));
end;
$$;
revoke execute on function public.get_low_balance_threshold(uuid) from public, anon, authenticated, service_role;
grant execute on function public.get_low_balance_threshold(uuid) to authenticated, service_role;

-- set_low_balance_threshold: a user sets their own threshold (admins and the service anyone's)
-- between ledger_settings' min and max; null goes back to the default, 0 turns alerts off
-- (when the min allows it). Setting a value is idempotent by nature, so no key. A new
-- threshold raises no alert by itself: alerts come from changes of the balance.
create or replace function public.set_low_balance_threshold(p_threshold bigint, p_user_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := private.target_user(p_user_id, true);
  v_settings public.ledger_settings;
begin
  select * into strict v_settings from public.ledger_settings s where s.id;
  if p_threshold is not null
     and (p_threshold < v_settings.low_balance_threshold_min or p_threshold > v_settings.low_balance_threshold_max) then
    raise exception using errcode = '22023',
      message = format('p_threshold must be between %s and %s tokens.', v_settings.low_balance_threshold_min,
                       v_settings.low_balance_threshold_max),
      hint = 'Send null to use the default threshold.';
  end if;
  if not exists (select 1 from auth.users u where u.id = v_user) then
    perform private.invalid(format('Unknown user %s.', v_user));
  end if;
  if p_threshold is null then
    delete from public.token_alert_preferences p where p.user_id = v_user;
  else
    insert into public.token_alert_preferences (user_id, low_balance_threshold) values (v_user, p_threshold)
    on conflict (user_id) do update set low_balance_threshold = excluded.low_balance_threshold, updated_at = now();
  end if;
  return private.low_balance_threshold_result(v_user);
end;
$$;
revoke execute on function public.set_low_balance_threshold(bigint, uuid) from public, anon, authenticated, service_role;
grant execute on function public.set_low_balance_threshold(bigint, uuid) to authenticated, service_role;

------------------------------------------------------------------------------------------
-- RPCs: draining the outbox (service only)
------------------------------------------------------------------------------------------

-- claim_token_alerts: up to p_limit undelivered alerts, oldest first, leased to the caller for
-- p_lease_seconds (other drainers skip them until then; an alert whose lease ran out without
-- being marked delivered is handed out again). Returns the claimed rows.
create or replace function public.claim_token_alerts(p_limit integer default 100, p_lease_seconds integer default 60)
returns setof public.token_alerts
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform private.require_service('Only the service delivers alerts.');
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    perform private.invalid('p_limit must be between 1 and 1000.');
  end if;
  if p_lease_seconds is null or p_lease_seconds < 1 or p_lease_seconds > 3600 then
    perform private.invalid('p_lease_seconds must be between 1 and 3600.');
  end if;
  -- The pick runs once (a materialized CTE): as `where id in (subquery)`, a nested-loop semi
  -- join ran the locking LIMIT again for every alert, each rescan skipping the rows this UPDATE
  -- had just claimed, and leased more than p_limit.
  return query
  with picked as materialized (
    select a2.id from public.token_alerts a2
     where a2.delivered_at is null and (a2.claimed_until is null or a2.claimed_until <= now())
     order by a2.created_at, a2.id
     limit p_limit
       for update skip locked
  )
  update public.token_alerts a
     set claimed_until = now() + make_interval(secs => p_lease_seconds), attempts = a.attempts + 1
    from picked
   where a.id = picked.id
  returning a.*;
end;
$$;
revoke execute on function public.claim_token_alerts(integer, integer) from public, anon, authenticated, service_role;
grant execute on function public.claim_token_alerts(integer, integer) to service_role;

-- mark_token_alerts_delivered: the alerts were sent. Marking twice changes nothing (the first
-- delivered_at stays). Unknown ids are 22023 and nothing is marked.
create or replace function public.mark_token_alerts_delivered(p_alert_ids uuid[])
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_unknown uuid;
  v_marked integer;
begin
  perform private.require_service('Only the service delivers alerts.');
  if p_alert_ids is null or cardinality(p_alert_ids) = 0 or cardinality(p_alert_ids) > 1000 then
    perform private.invalid('p_alert_ids must hold 1 to 1000 alert ids.');
  end if;
  select i.id into v_unknown from unnest(p_alert_ids) i (id)
   where i.id is null or not exists (select 1 from public.token_alerts a where a.id = i.id) limit 1;
  if found then
    perform private.invalid(format('Unknown alert %s.', coalesce(v_unknown::text, 'null')));
  end if;
  update public.token_alerts a set delivered_at = now(), claimed_until = null
   where a.id = any (p_alert_ids) and a.delivered_at is null;
  get diagnostics v_marked = row_count;
  return jsonb_build_object('marked', v_marked, 'already_delivered', cardinality(array(select distinct unnest(p_alert_ids))) - v_marked);
end;
$$;
revoke execute on function public.mark_token_alerts_delivered(uuid[]) from public, anon, authenticated, service_role;
grant execute on function public.mark_token_alerts_delivered(uuid[]) to service_role;
