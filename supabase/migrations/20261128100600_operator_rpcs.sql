-- Read-only RPCs for operators (the `npm run ledger` CLI, an admin back office with the
-- service key): what the service_role cannot read directly (auth.users, pg_cron's tables).

-- find_ledger_users: users by id, or by email (case-insensitive; a fragment matches anywhere),
-- with their tokens at a glance. At most p_limit (1..100) users, exact matches first.
create or replace function public.find_ledger_users(p_query text, p_limit integer default 20)
returns table (
  user_id uuid,
  email text,
  created_at timestamptz,
  balance bigint,
  debt bigint,
  held bigint,
  available bigint,
  subscriptions jsonb,
  last_entry_at timestamptz
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_query text := btrim(p_query);
  v_id uuid;
begin
  perform private.require_service('Only the service looks users up.');
  if v_query is null or v_query = '' or length(v_query) > 320 then
    perform private.invalid('p_query must be a user id or (part of) an email address.');
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 100 then
    perform private.invalid('p_limit must be between 1 and 100.');
  end if;
  if v_query ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    v_id := v_query::uuid;
  end if;
  return query
  select u.id, u.email::text, u.created_at,
         coalesce(b.balance, 0), coalesce(b.debt, 0), private.held_tokens(u.id, now()),
         greatest(coalesce(b.balance, 0) - private.held_tokens(u.id, now()), 0),
         coalesce((select jsonb_agg(jsonb_build_object('subscription_id', s.id, 'plan_id', s.plan_id, 'status', s.status,
                                                       'next_drip_at', s.next_drip_at) order by s.created_at)
                     from public.customer_subscriptions s where s.user_id = u.id), '[]'::jsonb),
         (select max(x.at) from (
            (select t.created_at as at from public.token_transactions t where t.user_id = u.id order by t.created_at desc limit 1)
            union all
            (select us.created_at from public.token_usage us where us.user_id = u.id order by us.created_at desc limit 1)
            union all
            (select d.created_at from public.token_drips d where d.user_id = u.id order by d.created_at desc limit 1)) x)
    from auth.users u
    left join public.token_balances b on b.user_id = u.id
   where u.id = v_id
      or (v_id is null and u.email ilike '%' || replace(replace(replace(v_query, '\', '\\'), '%', '\%'), '_', '\_') || '%')
   order by lower(u.email) = lower(v_query) desc, u.email
   limit p_limit;
end;
$$;
revoke execute on function public.find_ledger_users(text, integer) from public, anon, authenticated, service_role;
grant execute on function public.find_ledger_users(text, integer) to service_role;

-- get_ledger_jobs: every pg_cron job with its last run and how many runs failed in the last 24
-- hours (cron.job and cron.job_run_details are readable only by their owner).
create or replace function public.get_ledger_jobs()
returns table (
  jobname text,
  schedule text,
  command text,
  active boolean,
  last_status text,
  last_start timestamptz,
  last_end timestamptz,
  last_message text,
  runs_24h bigint,
  failures_24h bigint
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform private.require_service('Only the service reads the jobs.');
  return query
  select j.jobname::text, j.schedule::text, j.command::text, j.active,
         last_run.status::text, last_run.start_time, last_run.end_time, last_run.return_message::text,
         (select count(*) from cron.job_run_details d where d.jobid = j.jobid and d.start_time > now() - interval '24 hours'),
         (select count(*) from cron.job_run_details d
           where d.jobid = j.jobid and d.start_time > now() - interval '24 hours' and d.status = 'failed')
    from cron.job j
    left join lateral (select d.status, d.start_time, d.end_time, d.return_message from cron.job_run_details d
                        where d.jobid = j.jobid order by d.runid desc limit 1) last_run on true
   order by j.jobname;
end;
$$;
revoke execute on function public.get_ledger_jobs() from public, anon, authenticated, service_role;
grant execute on function public.get_ledger_jobs() to service_role;
