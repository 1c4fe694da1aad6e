-- Reconciliation: a per-user report of what the ledger, the balance row, the lots and the
-- holds say, the problems found, and a scheduled run recorded where operators query it.
--
-- verify_token_ledger() lists users whose balance does not add up. The report says more:
--   ledger_balance      sum of the changes of the user's ledger entries (legacy rows excluded)
--   last_balance_after  balance_after of the user's latest entry (the end of the chain)
--   balance, debt       the token_balances row
--   lots_remaining      what the user's lots still hold (lapsed ones not yet swept included)
--   lapsed_unswept      of which in lots past their expiry (the token-expiry job sweeps them)
--   held, available     active holds, and balance - held (never below 0)
-- and names each problem found:
--   balance_differs_from_ledger      balance <> ledger_balance
--   balance_differs_from_lots        balance <> lots_remaining - debt
--   balance_differs_from_last_entry  balance <> last_balance_after
--   expired_lots_not_swept           tokens in lots lapsed over 15 minutes ago (token-expiry runs every 5)
--   expired_holds_not_swept          holds still marked held over 10 minutes after expiring (token-holds runs every minute)
-- and, in the deep check (one user by default; it reads every entry of the user):
--   broken_chain                     an entry's balance_before is not the previous entry's balance_after
--   lots_differ_from_replay          replaying the entries does not give the lots and debt stored

create table if not exists public.ledger_reconciliation_runs (
  id uuid primary key default gen_random_uuid(),
  started_at timestamptz not null default now(),
  finished_at timestamptz not null default now(),
  status text not null check (status in ('ok', 'problems')),
  users_checked integer not null,
  users_with_problems integer not null,
  -- the reports of the users with problems (at most 1000; users_with_problems says how many)
  problems jsonb not null default '[]'::jsonb
);
create index if not exists ledger_reconciliation_runs_started_at_idx on public.ledger_reconciliation_runs (started_at);
alter table public.ledger_reconciliation_runs enable row level security;
revoke all on table public.ledger_reconciliation_runs from anon, authenticated, service_role;
grant select on table public.ledger_reconciliation_runs to service_role;

-- The deep checks of one user: the chain of balance_before/balance_after over their entries in
-- statement order, and the lots and debt a replay of those entries gives against the stored ones.
-- With archived months (public.archive_usage) both start from the latest archived month's
-- closing state: the balance after the user's last archived row, and the lots and debt the
-- replay had reached there, kept when the month was archived.
create or replace function private.deep_problems(p_user_id uuid)
returns text[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_problems text[] := '{}'::text[];
  v_replay jsonb;
  v_start jsonb;
begin
  v_start := private.archived_closing_state(p_user_id, 9223372036854775807);
  if exists (
    select 1 from (
      select e.balance_before, lag(e.balance_after) over (order by e.seq) as previous_after
        from (select e.seq, e.balance_before, e.balance_after
                from private.ledger_entries(p_user_id, coalesce((v_start ->> 'seq')::bigint, 0), 9223372036854775807) e
              union all
              select (v_start ->> 'seq')::bigint, null, (v_start ->> 'balance_after')::bigint where v_start is not null) e
    ) chain
    where chain.previous_after is not null and chain.balance_before <> chain.previous_after
  ) then
    v_problems := v_problems || 'broken_chain'::text;
  end if;

  v_replay := private.replay_lots(p_user_id, 9223372036854775807);
  if (v_replay ->> 'debt')::bigint is distinct from coalesce((select b.debt from public.token_balances b where b.user_id = p_user_id), 0)
     or exists (select 1 from public.token_lots l
                 where l.user_id = p_user_id and l.remaining is distinct from (v_replay -> 'lots' ->> l.id::text)::bigint)
     or exists (select 1 from jsonb_object_keys(v_replay -> 'lots') k (id)
                 where not exists (select 1 from public.token_lots l where l.id = k.id::uuid and l.user_id = p_user_id)) then
    v_problems := v_problems || 'lots_differ_from_replay'::text;
  end if;
  return v_problems;
end;
$$;
revoke execute on function private.deep_problems(uuid) from public, anon, authenticated, service_role;

-- reconcile_token_ledger: the report of one user (always returned, healthy or not), or of
-- every user with a problem (p_user_id null; empty when all is well). p_deep adds the deep
-- checks; by default they run for one user and not for all.
create or replace function public.reconcile_token_ledger(p_user_id uuid default null, p_deep boolean default null)
returns table (
  user_id uuid,
  balance bigint,
  debt bigint,
  ledger_balance bigint,
  last_balance_after bigint,
  lots_remaining bigint,
  lapsed_unswept bigint,
  held bigint,
  available bigint,
  problems text[]
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_deep boolean := coalesce(p_deep, p_user_id is not null);
  v_now timestamptz := now();
begin
  perform private.require_service('Only the service reconciles the ledger.');
  return query
  with users as (
    select b.user_id from public.token_balances b where p_user_id is null or b.user_id = p_user_id
    union
    select p_user_id where p_user_id is not null
  ),
  ledger as (
    select lt.user_id, lt.total from private.ledger_totals(p_user_id) lt
  ),
  lots as (
    select l.user_id, sum(l.remaining)::bigint as total,
           coalesce(sum(l.remaining) filter (where l.expires_at <= v_now), 0)::bigint as lapsed,
           coalesce(sum(l.remaining) filter (where l.expires_at <= v_now - interval '15 minutes'), 0)::bigint as lapsed_long
      from public.token_lots l
     where l.has_tokens and (p_user_id is null or l.user_id = p_user_id)
     group by l.user_id
  ),
  holds as (
    select h.user_id,
           coalesce(sum(h.tokens_held) filter (where h.expires_at > v_now), 0)::bigint as held,
           count(*) filter (where h.expires_at <= v_now - interval '10 minutes') as stale
      from public.token_holds h
     where h.status = 'held' and (p_user_id is null or h.user_id = p_user_id)
     group by h.user_id
  ),
  report as (
    select us.user_id,
           coalesce(b.balance, 0) as balance,
           coalesce(b.debt, 0) as debt,
           coalesce(lg.total, 0) as ledger_balance,
           last_entry.balance_after as last_balance_after,
           coalesce(lt.total, 0) as lots_remaining,
           coalesce(lt.lapsed, 0) as lapsed_unswept,
           coalesce(lt.lapsed_long, 0) as lapsed_long,
           coalesce(h.held, 0) as held,
           coalesce(h.stale, 0) as stale_holds
      from users us
      left join public.token_balances b on b.user_id = us.user_id
      left join ledger lg on lg.user_id = us.user_id
      left join lots lt on lt.user_id = us.user_id
      left join holds h on h.user_id = us.user_id
      left join lateral (
        select x.balance_after from (
          (select t.entry_seq as seq, t.balance_after from public.token_transactions t
            where t.user_id = us.user_id and not t.is_legacy order by t.entry_seq desc limit 1)
          union all
          (select u.entry_seq, u.balance_after from public.token_usage u
            where u.user_id = us.user_id and not u.is_legacy order by u.entry_seq desc limit 1)
          union all
          (select d.entry_seq, d.balance_after from public.token_drips d
            where d.user_id = us.user_id and not d.is_legacy order by d.entry_seq desc limit 1)
          union all
          -- the last row of an archived month of usage (public.archive_usage)
          (select a.last_entry_seq, a.last_balance_after from public.token_usage_archives a
            where a.user_id = us.user_id and a.last_entry_seq is not null order by a.last_entry_seq desc limit 1)
        ) x order by x.seq desc limit 1
      ) last_entry on true
  ),
  checked as (
    select r.*,
           array_remove(array[
             case when r.balance <> r.ledger_balance then 'balance_differs_from_ledger' end,
             case when r.balance <> r.lots_remaining - r.debt then 'balance_differs_from_lots' end,
             case when r.balance <> coalesce(r.last_balance_after, 0) then 'balance_differs_from_last_entry' end,
             case when r.lapsed_long > 0 then 'expired_lots_not_swept' end,
             case when r.stale_holds > 0 then 'expired_holds_not_swept' end
           ], null) || case when v_deep then private.deep_problems(r.user_id) else '{}'::text[] end as found
      from report r
  )
  select c.user_id, c.balance, c.debt, c.ledger_balance, c.last_balance_after, c.lots_remaining, c.lapsed_unswept,
         c.held, greatest(c.balance - c.held, 0), c.found
    from checked c
   where p_user_id is not null or cardinality(c.found) > 0
   order by c.user_id;
end;
$$;
revoke execute on function public.reconcile_token_ledger(uuid, boolean) from public, anon, authenticated, service_role;
grant execute on function public.reconcile_token_ledger(uuid, boolean) to service_role;

-- run_ledger_reconciliation: one scheduled run (the ledger-reconciliation cron job): the
-- report of every user with a problem, recorded in ledger_reconciliation_runs. Quiet when all
-- is well (a row with status 'ok' and nothing else); with problems, the row lists them and a
-- WARNING goes to the database log. Runs older than 180 days are deleted.
create or replace function public.run_ledger_reconciliation()
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_started timestamptz := clock_timestamp();
  v_problems jsonb;
  v_count integer;
  v_checked integer;
  v_run public.ledger_reconciliation_runs;
begin
  perform private.require_service('Only the service reconciles the ledger.');
  select count(*), coalesce(jsonb_agg(to_jsonb(r) - 'rn' order by r.user_id) filter (where r.rn <= 1000), '[]'::jsonb)
    into v_count, v_problems
    from (select x.*, row_number() over (order by x.user_id) as rn from public.reconcile_token_ledger() x) r;
  select count(*) into v_checked from public.token_balances;
  insert into public.ledger_reconciliation_runs (started_at, finished_at, status, users_checked, users_with_problems, problems)
  values (v_started, clock_timestamp(), case when v_count = 0 then 'ok' else 'problems' end, v_checked, v_count, v_problems)
  returning * into v_run;
  delete from public.ledger_reconciliation_runs r where r.started_at < now() - interval '180 days';
  if v_count > 0 then
    raise warning 'ledger reconciliation: % of % users have problems (ledger_reconciliation_runs %)', v_count, v_checked, v_run.id;
  end if;
  return jsonb_build_object('run_id', v_run.id, 'status', v_run.status, 'users_checked', v_checked,
    'users_with_problems', v_count);
end;
$$;
revoke execute on function public.run_ledger_reconciliation() from public, anon, authenticated, service_role;
grant execute on function public.run_ledger_reconciliation() to service_role;
