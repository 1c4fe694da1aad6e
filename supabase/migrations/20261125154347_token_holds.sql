-- Holds for streaming AI usage: reserve an estimate before the AI call, settle the measured
-- tokens after, release what is unused. Fixes check-then-deduct races: N parallel streams
-- cannot all pass a balance check, because each reservation takes the user's lock and
-- counts every other active hold.
--
--   available = balance - tokens held by active holds (reported as 0 when negative)
-- A hold is active while status = 'held' and expires_at > now: a lapsed hold stops counting
-- at its expires_at even before the token-holds cron job marks it 'expired'.
-- Holds are state, not ledger: the ledger row is the token_usage row a settle writes.
-- reserve_tokens and settle_hold follow record_usage's hot-path conventions (see the private
-- helpers migration); settle_hold looks at the other holds only when it goes beyond its own
-- (and in the low-balance check of the usage it writes, private.check_low_balance).

------------------------------------------------------------------------------------------
-- reserve_tokens
------------------------------------------------------------------------------------------

create or replace function public.reserve_tokens(
  p_feature text,
  p_tokens bigint,
  p_idempotency_key text,
  p_user_id uuid default null,
  p_ttl_seconds integer default 600
)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid;
  v_hash text;
  v_hold public.token_holds;
  v_balance bigint;
  v_available bigint;
  v_now timestamptz := now();
  v_expires timestamptz;
begin
  -- The service names the user; everyone else goes through the full check (42501 / 22023).
  if p_user_id is not null and current_setting('role', true) = 'service_role' then
    v_user := p_user_id;
  else
    v_user := private.target_user(p_user_id, false);
  end if;
  -- Argument checks inline; the helpers are called only to raise their error.
  if p_tokens is null or p_tokens <= 0 or p_tokens > 1000000000000000 then
    perform private.check_amount(p_tokens, 'p_tokens');
  end if;
  -- (private.check_caller_key's reserved prefixes, written out; a key that does not start with
  -- a visible ASCII character may be blank: check_key decides)
  if p_idempotency_key is null or length(p_idempotency_key) > 255 or ascii(p_idempotency_key) not between 33 and 126
     or (strpos(p_idempotency_key, ':') > 0
         and split_part(p_idempotency_key, ':', 1) in ('checkout', 'invoice', 'stripe', 'expiration', 'opening_balance',
                                                       'signup', 'hold', 'void', 'legacy')) then
    perform private.check_caller_key(p_idempotency_key);
  end if;
  if p_ttl_seconds is null or p_ttl_seconds < 1 or p_ttl_seconds > 86400 then
    perform private.invalid('p_ttl_seconds must be between 1 and 86400.');
  end if;
  v_hash := md5(jsonb_build_array(p_feature, p_tokens, p_ttl_seconds)::text);
  v_expires := v_now + make_interval(secs => p_ttl_seconds);

  -- Fast path, as record_usage's: one conditional UPDATE of the balance row (the lock, the
  -- feature, what the balance leaves after the held tokens, nothing due) counts the hold in
  -- held and its expiry in next_due_at; then the hold. A key used before leaves the hold out:
  -- the count is undone under the same lock and the full path replays the first result.
  update public.token_balances b set held = b.held + p_tokens, next_due_at = least(b.next_due_at, v_expires)
   where b.user_id = v_user and b.next_due_at > v_now and b.balance - b.held >= p_tokens
     and exists (select 1 from public.token_features f where f.id = p_feature and f.active)
  returning b.balance - b.held into v_available;
  if found then
    insert into public.token_holds (user_id, feature, tokens_held, idempotency_key, request_hash, expires_at, available_after)
    values (v_user, p_feature, p_tokens, p_idempotency_key, v_hash, v_expires, v_available)
    on conflict (user_id, idempotency_key) do nothing
    returning * into v_hold;
    if found then
      return jsonb_build_object('hold_id', v_hold.id, 'user_id', v_user, 'tokens_held', v_hold.tokens_held,
        'expires_at', v_hold.expires_at, 'available_after', v_hold.available_after, 'status', v_hold.status, 'replayed', false);
    end if;
    update public.token_balances b set held = b.held - p_tokens where b.user_id = v_user;
  end if;

  -- Full path. The user's lock first; lock_balance only when the row does not exist yet.
  select b.balance into v_balance from public.token_balances b where b.user_id = v_user for update;
  if not found then
    v_balance := (private.lock_balance(v_user)).balance;
  end if;
  select * into v_hold from public.token_holds h where h.user_id = v_user and h.idempotency_key = p_idempotency_key;
  if found then
    if v_hold.request_hash <> v_hash then
      perform private.key_reused(p_idempotency_key);
    end if;
    -- The first result, with the hold's state now: a hold past expires_at no longer counts,
    -- so it is reported expired even before the token-holds job marks it.
    return jsonb_build_object('hold_id', v_hold.id, 'user_id', v_user, 'tokens_held', v_hold.tokens_held,
      'expires_at', v_hold.expires_at, 'available_after', v_hold.available_after,
      'status', case when v_hold.status = 'held' and v_hold.expires_at <= v_now then 'expired' else v_hold.status end,
      'replayed', true);
  end if;

  -- Checked after the replay lookup, as in record_usage: a retry of a reservation returns
  -- its hold even if the feature has been switched off since.
  if not exists (select 1 from public.token_features f where f.id = p_feature and f.active) then
    perform private.invalid(format('Unknown feature %L.', p_feature));
  end if;

  -- Bring the user up to now: due drips, then lapsed lots (nothing when nothing is due).
  perform private.settle_user(v_user, v_now);
  select b.balance into v_balance from public.token_balances b where b.user_id = v_user;
  v_available := v_balance - private.held_tokens(v_user, v_now);
  if v_available < p_tokens then
    perform private.insufficient(v_available, p_tokens);
  end if;
  insert into public.token_holds (user_id, feature, tokens_held, idempotency_key, request_hash, expires_at, available_after)
  values (v_user, p_feature, p_tokens, p_idempotency_key, v_hash, v_expires, v_available - p_tokens)
  returning * into v_hold;
  -- held and next_due_at now count this hold; the next calls take the fast path.
  perform private.refresh_due(v_user);
  return jsonb_build_object('hold_id', v_hold.id, 'user_id', v_user, 'tokens_held', v_hold.tokens_held,
    'expires_at', v_hold.expires_at, 'available_after', v_hold.available_after, 'status', v_hold.status, 'replayed', false);
end;
$$;
revoke execute on function public.reserve_tokens(text, bigint, text, uuid, integer) from public, anon, authenticated, service_role;
grant execute on function public.reserve_tokens(text, bigint, text, uuid, integer) to authenticated, service_role;

------------------------------------------------------------------------------------------
-- settle_hold / release_hold / expire_holds
------------------------------------------------------------------------------------------

-- Find a hold the caller may close, lock its user's balance row, and return it locked.
create or replace function private.lock_hold(p_hold_id uuid)
returns public.token_holds
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid;
  v_hold public.token_holds;
begin
  if p_hold_id is null then
    perform private.invalid('p_hold_id is required.');
  end if;
  select h.user_id into v_user from public.token_holds h where h.id = p_hold_id;
  if v_user is null then
    perform private.invalid(format('Unknown hold %s.', p_hold_id));
  end if;
  perform private.target_user(v_user, false); -- 42501 unless the hold's owner or the service
  perform private.lock_balance(v_user);
  select * into strict v_hold from public.token_holds h where h.user_id = v_user and h.id = p_hold_id for update;
  return v_hold;
end;
$$;
revoke execute on function private.lock_hold(uuid) from public, anon, authenticated, service_role;

-- The first result of a settled hold, for a replay of settle_hold.
create or replace function private.settle_result(p_hold public.token_holds, p_replayed boolean)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object(
    'hold_id', p_hold.id, 'usage_id', p_hold.usage_id, 'user_id', p_hold.user_id,
    'tokens', p_hold.tokens_used,
    'balance_before', coalesce(u.balance_before, b.balance), 'balance_after', coalesce(u.balance_after, b.balance),
    'released', p_hold.tokens_released, 'overage_tokens', coalesce(u.overage_tokens, 0),
    'replayed', p_replayed)
  from (select 1) one
  -- (created_at: the row was written after the hold, so older partitions are skipped)
  left join public.token_usage u on u.user_id = p_hold.user_id and u.id = p_hold.usage_id and u.created_at >= p_hold.created_at
  left join public.token_balances b on b.user_id = p_hold.user_id
$$;
revoke execute on function private.settle_result(public.token_holds, boolean) from public, anon, authenticated, service_role;

create or replace function public.settle_hold(
  p_hold_id uuid,
  p_tokens_used bigint,
  p_model text default null,
  p_metadata jsonb default '{}'::jsonb
)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid;
  v_hold public.token_holds;
  v_metadata jsonb := coalesce(p_metadata, '{}'::jsonb);
  v_now timestamptz := now();
  v_active boolean;
  v_free bigint;
  v_balance bigint;
  v_due timestamptz;
  v_burned bigint := 0;
  v_overage bigint := 0;
  v_usage_id uuid;
begin
  -- private.lock_hold inline: the hold's user, the caller's right to it (the owner or the
  -- service), the user's lock (read with the balance), then the hold itself.
  if p_hold_id is null then
    perform private.invalid('p_hold_id is required.');
  end if;
  select h.user_id into v_user from public.token_holds h where h.id = p_hold_id;
  if v_user is null then
    perform private.invalid(format('Unknown hold %s.', p_hold_id));
  end if;
  if current_setting('role', true) is distinct from 'service_role' then
    perform private.target_user(v_user, false); -- 42501 unless the hold's owner or the service
  end if;
  select b.balance, b.next_due_at into v_balance, v_due from public.token_balances b where b.user_id = v_user for update;
  if not found then
    select b.balance, b.next_due_at into v_balance, v_due from private.lock_balance(v_user) b;
  end if;
  select * into strict v_hold from public.token_holds h where h.user_id = v_user and h.id = p_hold_id for update;

  if v_metadata <> '{}'::jsonb then
    v_metadata := private.check_metadata(v_metadata);
  end if;
  if v_hold.status = 'settled' then
    return private.settle_result(v_hold, true);
  end if;
  if v_hold.status = 'released' then
    perform private.invalid('This hold was released; reserve again.');
  end if;
  if p_tokens_used is null or p_tokens_used < 0 or p_tokens_used > 1000000000000000 then
    perform private.invalid('p_tokens_used must be zero or a positive number of tokens (at most 10^15).');
  end if;
  if p_model is not null and length(p_model) > 200 then
    perform private.invalid('p_model must be at most 200 characters.');
  end if;

  -- Bring the user up to now only when something may be due (the balance row's next_due_at).
  if v_due <= v_now then
    perform private.settle_user(v_hold.user_id, v_now);
    select b.balance into v_balance from public.token_balances b where b.user_id = v_hold.user_id;
  end if;
  v_active := v_hold.status = 'held' and v_hold.expires_at > v_now;
  if v_active then
    if p_tokens_used > v_hold.tokens_held then
      -- The work has happened: what the hold and the free balance (what the user may spend
      -- besides this hold) do not cover becomes debt. Within the hold, nothing to look at.
      v_free := v_balance - private.held_tokens(v_hold.user_id, v_now, v_hold.id);
      v_overage := greatest(p_tokens_used - (v_hold.tokens_held + greatest(v_free - v_hold.tokens_held, 0)), 0);
    end if;
  elsif p_tokens_used > 0 then
    -- A lapsed hold guarantees nothing: settle only from tokens still available (zero tokens
    -- spend nothing, so they settle even when the user is in debt).
    v_free := v_balance - private.held_tokens(v_hold.user_id, v_now, v_hold.id);
    if p_tokens_used > v_free then
      raise exception using
        errcode = 'PT402',
        message = 'The hold lapsed and the tokens are no longer available.',
        detail = format('balance: %s, required: %s, hold expired at: %s', greatest(v_free, 0), p_tokens_used, v_hold.expires_at),
        hint = 'Reserve again before the next call, or use a longer p_ttl_seconds.';
    end if;
  end if;

  if p_tokens_used > 0 then
    -- Lots pay for the covered part only: the overage goes straight to debt, so the tokens
    -- behind the user's other active holds stay in their lots. The first lot in burn order
    -- usually covers it (one UPDATE); otherwise the general burn, which may find less: a hold
    -- reserves from the balance, not from lots, and tokens that expired under it are gone.
    -- Whatever the lots did not pay is overage, so the usage row shows all the debt it makes.
    v_burned := p_tokens_used - v_overage;
    if v_burned > 0 then
      update public.token_lots l set remaining = l.remaining - v_burned
       where l.user_id = v_hold.user_id and l.id = (select l2.id from public.token_lots l2
                     where l2.user_id = v_hold.user_id and l2.has_tokens and (l2.expires_at is null or l2.expires_at > v_now)
                     order by l2.expires_at nulls last, l2.created_at, l2.id
                     limit 1)
         and l.remaining >= v_burned;
      if not found then
        v_burned := private.burn_lots(v_hold.user_id, v_burned, v_now);
      end if;
    end if;
    v_overage := p_tokens_used - v_burned;
    v_usage_id := gen_random_uuid();
    -- The key holds the new usage id, which nobody can know in advance: a key derived from the
    -- hold id alone could be taken first by a record_usage call of the user and block the settle.
    insert into public.token_usage (id, user_id, feature, tokens, model, metadata, idempotency_key, request_hash,
                                    balance_before, balance_after, hold_id, overage_tokens)
    values (v_usage_id, v_hold.user_id, v_hold.feature, p_tokens_used, p_model, v_metadata,
            'hold:' || v_hold.id || ':' || v_usage_id, md5(jsonb_build_array(v_hold.id, p_tokens_used)::text),
            v_balance, v_balance - p_tokens_used, v_hold.id, v_overage);
    -- The low-balance alert, while the hold still counts (private.check_low_balance).
    perform private.check_low_balance(v_hold.user_id, v_balance, v_balance - p_tokens_used, v_hold.id, 'usage', v_usage_id);
  end if;
  -- The debit, what the lots did not pay as debt, and the hold no longer held.
  update public.token_balances b
     set balance = v_balance - p_tokens_used, debt = b.debt + (p_tokens_used - v_burned),
         held = b.held - case when v_hold.status = 'held' then v_hold.tokens_held else 0 end,
         updated_at = case when p_tokens_used > 0 then v_now else b.updated_at end
   where b.user_id = v_hold.user_id;
  update public.token_holds h
     set status = 'settled', usage_id = v_usage_id, tokens_used = p_tokens_used,
         tokens_released = greatest(h.tokens_held - p_tokens_used, 0), closed_at = v_now
   where h.user_id = v_hold.user_id and h.id = v_hold.id;
  if v_due <= v_now then
    perform private.refresh_due(v_hold.user_id); -- the next calls take the fast path
  end if;
  return jsonb_build_object(
    'hold_id', v_hold.id, 'usage_id', v_usage_id, 'user_id', v_hold.user_id, 'tokens', p_tokens_used,
    'balance_before', v_balance, 'balance_after', v_balance - p_tokens_used,
    'released', greatest(v_hold.tokens_held - p_tokens_used, 0), 'overage_tokens', v_overage, 'replayed', false);
end;
$$;
revoke execute on function public.settle_hold(uuid, bigint, text, jsonb) from public, anon, authenticated, service_role;
grant execute on function public.settle_hold(uuid, bigint, text, jsonb) to authenticated, service_role;

create or replace function public.release_hold(p_hold_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_hold public.token_holds := private.lock_hold(p_hold_id);
  v_replayed boolean := v_hold.status = 'released';
begin
  if v_hold.status = 'settled' then
    perform private.invalid('This hold was settled; a settled hold cannot be released.');
  end if;
  if not v_replayed then
    if v_hold.status = 'held' then
      update public.token_balances b set held = b.held - v_hold.tokens_held where b.user_id = v_hold.user_id;
    end if;
    update public.token_holds h
       set status = 'released', tokens_released = h.tokens_held, tokens_used = 0, closed_at = now()
     where h.user_id = v_hold.user_id and h.id = v_hold.id
    returning * into v_hold;
  end if;
  -- Lots that lapsed since the last change leave the balance first (as every mutation does),
  -- so available_after does not count them; it is never below 0.
  perform private.settle_user(v_hold.user_id, now());
  return jsonb_build_object('hold_id', v_hold.id, 'user_id', v_hold.user_id, 'status', v_hold.status,
    'released', v_hold.tokens_released, 'available_after', private.available_tokens(v_hold.user_id, now()),
    'replayed', v_replayed);
end;
$$;
revoke execute on function public.release_hold(uuid) from public, anon, authenticated, service_role;
grant execute on function public.release_hold(uuid) to authenticated, service_role;

-- Mark lapsed holds 'expired' (they already stopped counting at expires_at). pg_cron runs it
-- every minute; tests pass an as-of time.
create or replace function public.expire_holds(p_as_of timestamptz default now())
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer;
begin
  perform private.require_service('Only the service expires holds.');
  perform private.check_as_of(p_as_of);
  -- The users' locks first, as every change of a hold takes them (then held goes down with it).
  perform 1 from public.token_balances b
   where b.user_id in (select h.user_id from public.token_holds h where h.status = 'held' and h.expires_at <= p_as_of)
   order by b.user_id
     for update;
  with closed as (
    update public.token_holds h set status = 'expired', tokens_released = h.tokens_held, closed_at = p_as_of
     where h.status = 'held' and h.expires_at <= p_as_of
    returning h.user_id, h.tokens_held
  ),
  per_user as (
    select c.user_id, sum(c.tokens_held)::bigint as tokens from closed c group by c.user_id
  ),
  unheld as (
    update public.token_balances b set held = b.held - p.tokens from per_user p where b.user_id = p.user_id
  )
  select count(*) into v_count from closed;
  return jsonb_build_object('holds_expired', v_count);
end;
$$;
revoke execute on function public.expire_holds(timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.expire_holds(timestamptz) to service_role;
