-- token_usage's monthly partitions (the schema migration partitions the table with
-- pg_partman): created ahead by a cron job, and archived month by month without losing the
-- ledger's arithmetic. docs/scaling.md explains the model.

-- Detached months go here: out of the API's reach, kept until an operator exports them.
create schema if not exists usage_archive;
revoke all on schema usage_archive from public;
comment on schema usage_archive is 'Archived months of token_usage (public.archive_usage): detached partitions, until exported.';

------------------------------------------------------------------------------------------
-- Partitions ahead
------------------------------------------------------------------------------------------

-- The partitions of the month of p_as_of and the three after it, created by pg_partman where
-- missing. The token-usage-partitions cron job runs it daily with now(), so a month's
-- partition exists about three months before its first row; a row that finds none would
-- land in pg_partman's default partition (which must stay empty: a partition for a range
-- cannot be created while the default holds rows of it).
create or replace function public.create_usage_partitions(p_as_of timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_months timestamptz[];
  v_before integer;
  v_after integer;
begin
  perform private.require_service('Only the service creates usage partitions.');
  perform private.check_as_of(p_as_of);
  -- One change to the partitions at a time (two runs creating and attaching partitions at once
  -- can deadlock on token_usage and its default partition).
  perform private.lock_usage_partitions();
  select array_agg(m) into v_months
    from generate_series(date_trunc('month', p_as_of, 'UTC'), date_trunc('month', p_as_of, 'UTC') + interval '3 months',
                         interval '1 month') m;
  select count(*) into v_before from pg_catalog.pg_inherits i where i.inhparent = 'public.token_usage'::regclass;
  perform private.create_usage_month_partitions(v_months);
  perform private.secure_usage_partitions();
  select count(*) into v_after from pg_catalog.pg_inherits i where i.inhparent = 'public.token_usage'::regclass;
  return jsonb_build_object('partitions_created', v_after - v_before,
    'covered_until', (select max(p.range_end) from private.usage_partitions() p));
end;
$$;
revoke execute on function public.create_usage_partitions(timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.create_usage_partitions(timestamptz) to service_role;

-- Serializes the changes to token_usage's partitions (creating, archiving) until the end of the
-- transaction.
create or replace function private.lock_usage_partitions()
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('token_usage partitions', 0))
$$;
revoke execute on function private.lock_usage_partitions() from public, anon, authenticated, service_role;

-- token_usage's partitions with their ranges (the default partition has none).
create or replace function private.usage_partitions()
returns table (partition_name text, range_start timestamptz, range_end timestamptz, is_default boolean)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select c.oid::regclass::text,
         (regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz,
         (regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz,
         pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
    from pg_catalog.pg_inherits i
    join pg_catalog.pg_class c on c.oid = i.inhrelid
   where i.inhparent = 'public.token_usage'::regclass
$$;
revoke execute on function private.usage_partitions() from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- Archiving months
------------------------------------------------------------------------------------------

-- Archives every month of usage that ends on or before p_before: for each user of the month,
-- one token_usage_archives row with what the month took from their balance; then the
-- partition is detached and moved to schema usage_archive (never deleted: an operator exports
-- and drops it). verify_token_ledger counts the summary rows instead, so the ledger still
-- reconciles. A month still inside the usage key window (as of p_as_of) is never archived,
-- nor is the default partition. Detaching locks token_usage briefly: run it at a quiet hour.
create or replace function public.archive_usage(p_before timestamptz, p_as_of timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_part record;
  v_archived jsonb := '[]'::jsonb;
  v_users bigint;
begin
  perform private.require_service('Only the service archives usage.');
  perform private.check_as_of(p_as_of);
  if p_before is null or not isfinite(p_before) then
    perform private.invalid('p_before must be a finite time: months that end on or before it are archived.');
  end if;
  perform private.lock_usage_partitions();
  for v_part in
    select p.partition_name, p.range_start, p.range_end from private.usage_partitions() p
     where not p.is_default and p.range_end <= p_before and p.range_end <= p_as_of - private.usage_key_window()
     order by p.range_start
  loop
    -- One row per user of the month. closing_state is computed while the month is still
    -- attached: the replay up to the user's last archived row (from the previous archived
    -- month's closing state, so each month replays only its own entries).
    execute format(
      'insert into public.token_usage_archives (user_id, period_start, period_end, usage_rows, legacy_rows, tokens,
                                                last_entry_seq, last_balance_after, last_entry_at, legacy_tokens,
                                                archived_table, closing_state)
       select m.user_id, $1, $2, m.usage_rows, m.legacy_rows, m.tokens, m.last_entry_seq, m.last_balance_after,
              m.last_entry_at, m.legacy_tokens, $3,
              case when c.seq is not null then
                private.replay_lots(m.user_id, c.seq) || jsonb_build_object(''seq'', c.seq, ''balance_after'', c.balance_after)
              end
         from (select u.user_id, count(*) filter (where not u.is_legacy) as usage_rows,
                      count(*) filter (where u.is_legacy) as legacy_rows,
                      coalesce(sum(u.tokens) filter (where not u.is_legacy), 0) as tokens,
                      max(u.entry_seq) filter (where not u.is_legacy) as last_entry_seq,
                      (array_agg(u.balance_after order by u.entry_seq desc) filter (where not u.is_legacy))[1] as last_balance_after,
                      (array_agg(u.created_at order by u.entry_seq desc) filter (where not u.is_legacy))[1] as last_entry_at,
                      coalesce(sum(u.tokens) filter (where u.is_legacy and not exists (
                        select 1 from public.token_usage_corrections k where k.user_id = u.user_id and k.usage_id = u.id)), 0)
                        as legacy_tokens
                 from %s u group by u.user_id) m
         -- the user''s last archived row so far: this month''s, or an earlier month''s when
         -- that one came later in entry_seq order (a call that began before the month ended)
         left join lateral (
           select x.seq, x.balance_after from (
             select m.last_entry_seq as seq, m.last_balance_after as balance_after
             union all
             select (s.state ->> ''seq'')::bigint, (s.state ->> ''balance_after'')::bigint
               from (select private.archived_closing_state(m.user_id, 9223372036854775807) as state) s
           ) x where x.seq is not null order by x.seq desc limit 1
         ) c on true', v_part.partition_name)
      using v_part.range_start, v_part.range_end,
            'usage_archive.' || split_part(v_part.partition_name, '.', 2);
    get diagnostics v_users = row_count;
    execute format('alter table public.token_usage detach partition %s', v_part.partition_name);
    execute format('alter table %s set schema usage_archive', v_part.partition_name);
    v_archived := v_archived || jsonb_build_object('period_start', v_part.range_start, 'period_end', v_part.range_end,
      'users', v_users, 'archived_table', 'usage_archive.' || split_part(v_part.partition_name, '.', 2));
  end loop;
  return jsonb_build_object('archived', v_archived);
end;
$$;
revoke execute on function public.archive_usage(timestamptz, timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.archive_usage(timestamptz, timestamptz) to service_role;
