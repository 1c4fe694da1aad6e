-- The hot path: record_usage and the helpers every call goes through.
--
-- Measured with pg_stat_statements (docs/benchmarks.md): two thirds of a record_usage call
-- went to four small `language sql` helpers. PostgreSQL never inlines a SQL function that has
-- its own search_path and parses and plans it again on every call, while plpgsql keeps its
-- plans for the session. Same behaviour, same errors; only the cost changes:
--   * the helpers below are plpgsql;
--   * record_usage checks its arguments inline and calls the raising helpers only on failure,
--     locks and reads the balance in one statement, settles the user only when a lot has
--     lapsed or a drip is due, and burns the first lot with one UPDATE when it covers the
--     amount (the usual case).

create or replace function private.caller_kind()
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_role text := nullif(nullif(current_setting('role', true), ''), 'none');
begin
  if v_role = 'service_role' then
    return 'service';
  elsif v_role = 'authenticated' then
    return case when coalesce(auth.jwt() -> 'app_metadata' ->> 'role', '') = 'admin' then 'admin' else 'authenticated' end;
  elsif v_role = 'anon' then
    return 'anon';
  elsif exists (
    select 1 from pg_catalog.pg_roles pr
    where pr.rolname = coalesce(v_role, session_user::text) and (pr.rolsuper or pr.rolbypassrls)
  ) then
    return 'service'; -- a session that did not switch role: postgres, pg_cron
  end if;
  return 'anon';
end;
$$;

create or replace function private.held_tokens(p_user_id uuid, p_as_of timestamptz, p_except uuid default null)
returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return (select coalesce(sum(h.tokens_held), 0)::bigint
          from public.token_holds h
          where h.user_id = p_user_id and h.status = 'held' and h.expires_at > p_as_of
            and h.id is distinct from p_except);
end;
$$;

create or replace function private.available_tokens(p_user_id uuid, p_as_of timestamptz)
returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return coalesce((select b.balance from public.token_balances b where b.user_id = p_user_id), 0)
         - private.held_tokens(p_user_id, p_as_of);
end;
$$;

create or replace function private.burn_lots(p_user_id uuid, p_amount bigint, p_as_of timestamptz, p_first_lot uuid default null)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_burned bigint;
begin
  with ordered as (
    select l.id, l.remaining,
           sum(l.remaining) over (
             order by (l.id is not distinct from p_first_lot) desc, l.expires_at nulls last, l.created_at, l.id
           ) as running
    from public.token_lots l
    where l.user_id = p_user_id and l.remaining > 0
      and (l.expires_at is null or l.expires_at > p_as_of or l.id = p_first_lot)
  ),
  taken as (
    select o.id, least(o.remaining, p_amount - (o.running - o.remaining)) as take
    from ordered o
    where o.running - o.remaining < p_amount
  ),
  burned as (
    update public.token_lots l set remaining = l.remaining - t.take
    from taken t
    where l.id = t.id
    returning t.take
  )
  select coalesce(sum(burned.take), 0)::bigint into v_burned from burned;
  return v_burned;
end;
$$;

create or replace function public.record_usage(
  p_feature text,
  p_tokens bigint,
  p_idempotency_key text,
  p_user_id uuid default null,
  p_model text default null,
  p_metadata jsonb default '{}'::jsonb
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid;
  v_metadata jsonb := coalesce(p_metadata, '{}'::jsonb);
  v_hash text;
  v_prior public.token_usage;
  v_balance bigint;
  v_available bigint;
  v_now timestamptz := now();
  v_id uuid := gen_random_uuid();
begin
  -- The service names the user; everyone else goes through the full check (42501 / 22023).
  if p_user_id is not null and current_setting('role', true) = 'service_role' then
    v_user := p_user_id;
  else
    v_user := private.target_user(p_user_id, false);
  end if;
  -- Argument checks inline; the helpers are called only to raise their error.
  if v_metadata <> '{}'::jsonb then
    v_metadata := private.check_metadata(v_metadata);
  end if;
  if p_tokens is null or p_tokens <= 0 or p_tokens > 1000000000000000 then
    perform private.check_amount(p_tokens, 'p_tokens');
  end if;
  if p_idempotency_key is null or length(p_idempotency_key) > 255 or btrim(p_idempotency_key) = '' then
    perform private.check_key(p_idempotency_key);
  end if;
  if p_feature is null then
    perform private.invalid('p_feature is required.');
  end if;
  if p_model is not null and length(p_model) > 200 then
    perform private.invalid('p_model must be at most 200 characters.');
  end if;
  v_hash := md5(jsonb_build_array(p_feature, p_tokens, p_model, v_metadata)::text);

  -- The user's lock first; lock_balance only when the row does not exist yet.
  select b.balance into v_balance from public.token_balances b where b.user_id = v_user for update;
  if not found then
    v_balance := (private.lock_balance(v_user)).balance;
  end if;

  select * into v_prior from public.token_usage u where u.user_id = v_user and u.idempotency_key = p_idempotency_key;
  if found then
    if v_prior.request_hash is distinct from v_hash then
      perform private.key_reused(p_idempotency_key);
    end if;
    return jsonb_build_object('usage_id', v_prior.id, 'user_id', v_user, 'tokens', v_prior.tokens,
      'balance_before', v_prior.balance_before, 'balance_after', v_prior.balance_after, 'replayed', true);
  end if;

  -- Checked after the replay lookup: a retry of recorded usage returns its first result
  -- even if the feature has been switched off since.
  if not exists (select 1 from public.token_features f where f.id = p_feature and f.active) then
    perform private.invalid(format('Unknown feature %L.', p_feature));
  end if;

  -- Bring the user up to now only when something is due: a lapsed lot or a drip.
  if exists (select 1 from public.token_lots l
             where l.user_id = v_user and l.remaining > 0 and l.expires_at <= v_now)
     or exists (select 1 from public.customer_subscriptions s
                where s.user_id = v_user and s.next_drip_at <= v_now) then
    perform private.settle_user(v_user, v_now);
    select b.balance into v_balance from public.token_balances b where b.user_id = v_user;
  end if;

  v_available := v_balance - private.held_tokens(v_user, v_now);
  if v_available < p_tokens then
    perform private.insufficient(v_available, p_tokens);
  end if;

  -- Burn: the first lot in burn order usually covers the amount; otherwise the general burn.
  update public.token_lots l set remaining = l.remaining - p_tokens
   where l.id = (select l2.id from public.token_lots l2
                 where l2.user_id = v_user and l2.remaining > 0 and (l2.expires_at is null or l2.expires_at > v_now)
                 order by l2.expires_at nulls last, l2.created_at, l2.id
                 limit 1)
     and l.remaining >= p_tokens;
  if not found then
    perform private.burn_lots(v_user, p_tokens, v_now);
  end if;
  update public.token_balances b set balance = v_balance - p_tokens, updated_at = v_now where b.user_id = v_user;

  insert into public.token_usage (id, user_id, feature, tokens, model, metadata, idempotency_key, request_hash,
                                  balance_before, balance_after)
  values (v_id, v_user, p_feature, p_tokens, p_model, v_metadata, p_idempotency_key, v_hash,
          v_balance, v_balance - p_tokens);

  return jsonb_build_object('usage_id', v_id, 'user_id', v_user, 'tokens', p_tokens,
    'balance_before', v_balance, 'balance_after', v_balance - p_tokens, 'replayed', false);
end;
$$;

revoke execute on all functions in schema private from public, anon, authenticated, service_role;
revoke execute on function public.record_usage(text, bigint, text, uuid, text, jsonb) from public, anon, authenticated, service_role;
grant execute on function public.record_usage(text, bigint, text, uuid, text, jsonb) to authenticated, service_role;
