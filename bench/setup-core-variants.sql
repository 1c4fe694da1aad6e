-- Alternatives to public.record_usage, measured by bench/20-core-variants.sh (opt-in) to show
-- where the time of run (b) goes. They live in schema bench_alt of the throw-away bench
-- database only; the migrations are not touched. Each returns what record_usage returns and
-- leaves the same rows (verify_token_ledger() stays empty).
--
--   bench_alt.record_usage_plpgsql: record_usage unchanged, but its `language sql` helpers
--     (caller_kind, available_tokens with held_tokens, burn_lots) rewritten in plpgsql. A SQL function
--     that cannot be inlined (here: every one, because of `set search_path`) is parsed and
--     planned again on every call in PostgreSQL 15; plpgsql caches its plans per session.
--   bench_alt.record_usage_lean: one plpgsql function doing the same checks and writes with
--     as few statements and nested calls as it can: the checks inline (helpers only raise),
--     the balance locked and read in one statement, settle_user only when something is due,
--     and the burn as one UPDATE of the first lot when it covers the amount (the usual case).
--   bench_alt.record_usage_lean_v7: record_usage_lean with a time-ordered token_usage.id
--     (UUIDv7 layout) instead of gen_random_uuid(): new rows append to the primary key.
\set ON_ERROR_STOP on

create schema if not exists bench_alt;

-- private.caller_kind, in plpgsql.
create or replace function bench_alt.caller_kind()
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
    return case when coalesce((select auth.jwt()) -> 'app_metadata' ->> 'role', '') = 'admin' then 'admin' else 'authenticated' end;
  elsif v_role = 'anon' then
    return 'anon';
  elsif exists (select 1 from pg_catalog.pg_roles pr
                where pr.rolname = coalesce(v_role, session_user::text) and (pr.rolsuper or pr.rolbypassrls)) then
    return 'service';
  end if;
  return 'anon';
end;
$$;

-- private.target_user, calling the plpgsql caller_kind.
create or replace function bench_alt.target_user(p_user_id uuid, p_admin_may_act_for_others boolean)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
declare
  v_kind text := bench_alt.caller_kind();
  v_uid uuid := (select auth.uid());
begin
  if v_kind = 'service' then
    if p_user_id is null then
      raise exception using errcode = '22023', message = 'p_user_id is required when calling as the service.';
    end if;
    return p_user_id;
  end if;
  if v_kind in ('authenticated', 'admin') and v_uid is not null then
    if p_user_id is null or p_user_id = v_uid then
      return v_uid;
    end if;
    if v_kind = 'admin' and p_admin_may_act_for_others then
      return p_user_id;
    end if;
    perform private.deny('You may act only on your own tokens.');
  end if;
  perform private.deny('Sign in to use tokens.');
  return null;
end;
$$;

-- private.available_tokens (balance minus active holds, private.held_tokens inline), in plpgsql.
create or replace function bench_alt.available_tokens(p_user_id uuid, p_as_of timestamptz)
returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return coalesce((select b.balance from public.token_balances b where b.user_id = p_user_id), 0)
         - (select coalesce(sum(h.tokens_held), 0)::bigint from public.token_holds h
            where h.user_id = p_user_id and h.status = 'held' and h.expires_at > p_as_of);
end;
$$;

-- private.burn_lots, in plpgsql (the same statement).
create or replace function bench_alt.burn_lots(p_user_id uuid, p_amount bigint, p_as_of timestamptz, p_first_lot uuid default null)
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

-- public.record_usage with the plpgsql helpers above; otherwise the same text.
create or replace function bench_alt.record_usage_plpgsql(
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
  v_user uuid := bench_alt.target_user(p_user_id, false);
  v_metadata jsonb := private.check_metadata(p_metadata);
  v_hash text;
  v_prior public.token_usage;
  v_balance bigint;
  v_id uuid := gen_random_uuid();
begin
  perform private.check_amount(p_tokens, 'p_tokens');
  perform private.check_key(p_idempotency_key);
  if not exists (select 1 from public.token_features f where f.id = p_feature and f.active) then
    perform private.invalid(format('Unknown feature %L.', p_feature));
  end if;
  if p_model is not null and length(p_model) > 200 then
    perform private.invalid('p_model must be at most 200 characters.');
  end if;
  v_hash := md5(jsonb_build_array(p_feature, p_tokens, p_model, v_metadata)::text);

  perform private.lock_balance(v_user);

  select * into v_prior from public.token_usage u where u.user_id = v_user and u.idempotency_key = p_idempotency_key;
  if found then
    if v_prior.request_hash is distinct from v_hash then
      perform private.key_reused(p_idempotency_key);
    end if;
    return jsonb_build_object('usage_id', v_prior.id, 'user_id', v_user, 'tokens', v_prior.tokens,
      'balance_before', v_prior.balance_before, 'balance_after', v_prior.balance_after, 'replayed', true);
  end if;

  perform private.settle_user(v_user, now());
  v_balance := bench_alt.available_tokens(v_user, now());
  if v_balance < p_tokens then
    perform private.insufficient(v_balance, p_tokens);
  end if;

  perform bench_alt.burn_lots(v_user, p_tokens, now());
  update public.token_balances b set balance = b.balance - p_tokens, updated_at = now()
   where b.user_id = v_user
  returning b.balance + p_tokens into v_balance;

  insert into public.token_usage (id, user_id, feature, tokens, model, metadata, idempotency_key, request_hash, balance_before, balance_after)
  values (v_id, v_user, p_feature, p_tokens, p_model, v_metadata, p_idempotency_key, v_hash, v_balance, v_balance - p_tokens);

  return jsonb_build_object('usage_id', v_id, 'user_id', v_user, 'tokens', p_tokens,
    'balance_before', v_balance, 'balance_after', v_balance - p_tokens, 'replayed', false);
end;
$$;

-- The same contract in as few statements and nested calls as possible.
create or replace function bench_alt.record_usage_lean(
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
  v_role text := nullif(nullif(current_setting('role', true), ''), 'none');
  v_user uuid;
  v_metadata jsonb := coalesce(p_metadata, '{}'::jsonb);
  v_hash text;
  v_prior public.token_usage;
  v_balance bigint;
  v_available bigint;
  v_id uuid := gen_random_uuid();
  v_now timestamptz := now();
begin
  -- The service names the user; anyone else goes through the full check.
  if v_role = 'service_role' and p_user_id is not null then
    v_user := p_user_id;
  else
    v_user := bench_alt.target_user(p_user_id, false);
  end if;
  -- Checks inline; the helpers are called only to raise their error.
  if v_metadata <> '{}'::jsonb then
    v_metadata := private.check_metadata(v_metadata);
  end if;
  if p_tokens is null or p_tokens <= 0 or p_tokens > 1000000000000000 then
    perform private.check_amount(p_tokens, 'p_tokens');
  end if;
  if p_idempotency_key is null or length(p_idempotency_key) > 255 or btrim(p_idempotency_key) = '' then
    perform private.check_key(p_idempotency_key);
  end if;
  if not exists (select 1 from public.token_features f where f.id = p_feature and f.active) then
    perform private.invalid(format('Unknown feature %L.', p_feature));
  end if;
  if p_model is not null and length(p_model) > 200 then
    perform private.invalid('p_model must be at most 200 characters.');
  end if;
  v_hash := md5(jsonb_build_array(p_feature, p_tokens, p_model, v_metadata)::text);

  -- Lock and read the balance in one statement; lock_balance only creates a missing row.
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

  -- Settle only when a lot has lapsed or a drip is due (two index probes).
  if exists (select 1 from public.token_lots l
             where l.user_id = v_user and l.remaining > 0 and l.expires_at <= v_now)
     or exists (select 1 from public.customer_subscriptions s
                where s.user_id = v_user and s.next_drip_at <= v_now) then
    perform private.settle_user(v_user, v_now);
    select b.balance into v_balance from public.token_balances b where b.user_id = v_user;
  end if;
  -- Available = balance - active holds (private.available_tokens, inline).
  v_available := v_balance - (select coalesce(sum(h.tokens_held), 0)::bigint from public.token_holds h
                              where h.user_id = v_user and h.status = 'held' and h.expires_at > v_now);
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
    perform bench_alt.burn_lots(v_user, p_tokens, v_now);
  end if;
  update public.token_balances b set balance = v_balance - p_tokens, updated_at = v_now
   where b.user_id = v_user;

  insert into public.token_usage (id, user_id, feature, tokens, model, metadata, idempotency_key, request_hash, balance_before, balance_after)
  values (v_id, v_user, p_feature, p_tokens, p_model, v_metadata, p_idempotency_key, v_hash, v_balance, v_balance - p_tokens);

  return jsonb_build_object('usage_id', v_id, 'user_id', v_user, 'tokens', p_tokens,
    'balance_before', v_balance, 'balance_after', v_balance - p_tokens, 'replayed', false);
end;
$$;


-- A time-ordered uuid (the layout of UUIDv7: 48 bits of Unix milliseconds, then random), for
-- primary keys that append to their index instead of landing on a random leaf page.
create or replace function bench_alt.uuid_v7()
returns uuid
language sql
volatile
as $$
  select encode(
    set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                            placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
                            from 1 for 6), 52, 1), 53, 1),
    'hex')::uuid
$$;

-- record_usage_lean with a time-ordered token_usage.id.
do $$
begin
  execute replace(replace(pg_get_functiondef('bench_alt.record_usage_lean'::regproc),
                          'bench_alt.record_usage_lean(', 'bench_alt.record_usage_lean_v7('),
                  'v_id uuid := gen_random_uuid();', 'v_id uuid := bench_alt.uuid_v7();');
end
$$;

grant usage on schema bench_alt to service_role;
grant execute on all functions in schema bench_alt to service_role;
