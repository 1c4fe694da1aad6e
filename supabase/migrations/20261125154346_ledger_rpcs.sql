-- Ledger RPCs: record_usage, grant_tokens, record_purchase, get_token_balance and
-- verify_token_ledger (conventions: the private helpers migration).

------------------------------------------------------------------------------------------
-- record_usage
------------------------------------------------------------------------------------------

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
set search_path = pg_catalog, pg_temp
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
  v_fast boolean := false;
  v_held bigint;
  v_threshold bigint;
begin
  -- The service names the user; a signed-in user acting on themselves (through the API, the
  -- usual call) is their JWT's sub, what private.target_user returns them without its two
  -- calls; everyone else goes through the full check (42501 / 22023).
  if p_user_id is not null and current_setting('role', true) = 'service_role' then
    v_user := p_user_id;
  elsif p_user_id is null and current_setting('role', true) = 'authenticated' then
    v_user := (select auth.uid());
  end if;
  if v_user is null then
    v_user := private.target_user(p_user_id, false);
  end if;
  -- Argument checks inline; the helpers are called only to raise their error.
  if v_metadata <> '{}'::jsonb then
    v_metadata := private.check_metadata(v_metadata);
  end if;
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
  if p_feature is null then
    perform private.invalid('p_feature is required.');
  end if;
  if p_model is not null and length(p_model) > 200 then
    perform private.invalid('p_model must be at most 200 characters.');
  end if;
  v_hash := md5(jsonb_build_array(p_feature, p_tokens, p_model, v_metadata)::text);

  -- Fast path: one conditional UPDATE takes the user's lock and checks on the row it locks
  -- what the full path checks with queries: the feature, that the balance less the held
  -- tokens covers the amount, and that nothing falls due before now (token_balances'
  -- held and next_due_at). Then the usage row; when the key was used before it is left out,
  -- the debit is undone under the same lock and the full path replays the first result.
  -- RETURNING also reads held and the user's low-balance threshold (private.low_balance_threshold,
  -- written inline: a call there would cost every usage a function call) for the alert below.
  update public.token_balances b set balance = b.balance - p_tokens, updated_at = v_now
   where b.user_id = v_user and b.next_due_at > v_now and b.balance - b.held >= p_tokens
     and exists (select 1 from public.token_features f where f.id = p_feature and f.active)
  returning b.balance + p_tokens, b.held,
            (select coalesce(p.low_balance_threshold, s.low_balance_threshold)
               from public.ledger_settings s
               left join public.token_alert_preferences p on p.user_id = b.user_id
              where s.id)
       into v_balance, v_held, v_threshold;
  if found then
    -- A key is unique per user within the key window (no index can say it: token_usage is
    -- partitioned by month; docs/scaling.md#usage-keys), looked up under the lock just taken,
    -- over the partitions the window covers.
    if not exists (select 1 from public.token_usage u
                   where u.user_id = v_user and u.idempotency_key = p_idempotency_key
                     and u.created_at > v_now - private.usage_key_window()) then
      insert into public.token_usage (id, user_id, feature, tokens, model, metadata, idempotency_key, request_hash,
                                      balance_before, balance_after)
      values (v_id, v_user, p_feature, p_tokens, p_model, v_metadata, p_idempotency_key, v_hash,
              v_balance, v_balance - p_tokens);
      v_fast := true;
      -- The low-balance alert (docs/alerts.md) without a query unless this usage may cross
      -- the threshold: held is at least the active holds, so when the balance less held is
      -- still at or above the threshold after it, no crossing is possible; and when the
      -- balance before it was already below, neither (available is at most the balance).
      -- Otherwise the exact check (private.check_low_balance).
      if v_threshold > 0 and v_balance >= v_threshold and v_balance - p_tokens - v_held < v_threshold then
        perform private.check_low_balance(v_user, v_balance, v_balance - p_tokens, null, 'usage', v_id);
      end if;
    else
      update public.token_balances b set balance = v_balance where b.user_id = v_user;
    end if;
  end if;

  if not v_fast then
    -- Full path. The user's lock first; lock_balance only when the row does not exist yet.
    select b.balance into v_balance from public.token_balances b where b.user_id = v_user for update;
    if not found then
      v_balance := (private.lock_balance(v_user)).balance;
    end if;

    -- The replay lookup, under the lock, over the key window (as above). A retry after the
    -- window is new usage.
    select * into v_prior from public.token_usage u
     where u.user_id = v_user and u.idempotency_key = p_idempotency_key
       and u.created_at > v_now - private.usage_key_window();
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

    -- Bring the user up to now: due drips, then lapsed lots (nothing when nothing is due).
    perform private.settle_user(v_user, v_now);
    select b.balance into v_balance from public.token_balances b where b.user_id = v_user;
    v_available := private.available_tokens(v_user, v_now);
    if v_available < p_tokens then
      perform private.insufficient(v_available, p_tokens);
    end if;
    update public.token_balances b set balance = v_balance - p_tokens, updated_at = v_now where b.user_id = v_user;
    insert into public.token_usage (id, user_id, feature, tokens, model, metadata, idempotency_key, request_hash,
                                    balance_before, balance_after)
    values (v_id, v_user, p_feature, p_tokens, p_model, v_metadata, p_idempotency_key, v_hash,
            v_balance, v_balance - p_tokens);
    perform private.check_low_balance(v_user, v_balance, v_balance - p_tokens, null, 'usage', v_id);
  end if;

  -- Burn: the first lot in burn order usually covers the amount; otherwise the general burn.
  update public.token_lots l set remaining = l.remaining - p_tokens
   where l.user_id = v_user and l.id = (select l2.id from public.token_lots l2
                 where l2.user_id = v_user and l2.has_tokens and (l2.expires_at is null or l2.expires_at > v_now)
                 order by l2.expires_at nulls last, l2.created_at, l2.id
                 limit 1)
     and l.remaining >= p_tokens;
  if not found then
    perform private.burn_lots(v_user, p_tokens, v_now);
  end if;
  if not v_fast then
    -- The next spends take the fast path until something falls due again.
    perform private.refresh_due(v_user);
  end if;

  return jsonb_build_object('usage_id', v_id, 'user_id', v_user, 'tokens', p_tokens,
    'balance_before', v_balance, 'balance_after', v_balance - p_tokens, 'replayed', false);
end;
$$;
revoke execute on function public.record_usage(text, bigint, text, uuid, text, jsonb) from public, anon, authenticated, service_role;
grant execute on function public.record_usage(text, bigint, text, uuid, text, jsonb) to authenticated, service_role;

------------------------------------------------------------------------------------------
-- grant_tokens
------------------------------------------------------------------------------------------

-- The grant itself. The ledger's own grants (the webhook's invoice:<invoice> grants) call it
-- directly with their reserved keys; public.grant_tokens checks the caller first.
create or replace function private.grant_tokens(
  p_user_id uuid,
  p_amount bigint,
  p_type text,
  p_idempotency_key text,
  p_source text default null,
  p_expires_at timestamptz default null,
  p_metadata jsonb default '{}'::jsonb
)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_kind text := private.caller_kind();
  v_metadata jsonb;
  v_hash text;
  v_tx public.token_transactions;
begin
  v_metadata := private.check_metadata(p_metadata);
  if p_user_id is null then
    perform private.invalid('p_user_id is required.');
  end if;
  perform private.check_amount(p_amount, 'p_amount');
  perform private.check_key(p_idempotency_key);
  if p_type is null or p_type not in ('admin_grant', 'admin_deduction', 'subscription_grant', 'trial_grant') then
    perform private.invalid('p_type must be one of admin_grant, admin_deduction, subscription_grant, trial_grant.');
  end if;
  if p_expires_at is not null and p_type = 'admin_deduction' then
    perform private.invalid('p_expires_at applies to grants, not to a deduction.');
  end if;
  if not isfinite(p_expires_at) then
    perform private.invalid('p_expires_at must be a finite time: omit it for tokens that never expire.');
  end if;
  if p_source is not null and length(p_source) > 200 then
    perform private.invalid('p_source must be at most 200 characters.');
  end if;
  v_hash := md5(jsonb_build_array(p_user_id, p_amount, p_type, p_source, p_expires_at, v_metadata)::text);

  perform private.lock_balance(p_user_id);
  v_tx := private.prior_transaction(p_user_id, p_idempotency_key, v_hash);
  if v_tx.id is not null then
    return private.transaction_result(v_tx, true);
  end if;
  -- Checked after the replay lookup: a retry of a grant whose expiry has since passed still
  -- gets its first result.
  if p_expires_at is not null and p_expires_at <= now() then
    perform private.invalid('p_expires_at must be in the future.');
  end if;

  perform private.settle_user(p_user_id, now());
  v_tx := null;
  v_tx.user_id := p_user_id;
  v_tx.transaction_type := p_type;
  v_tx.token_amount := case when p_type = 'admin_deduction' then -p_amount else p_amount end;
  v_tx.source := coalesce(p_source, v_kind);
  v_tx.expires_at := p_expires_at;
  v_tx.metadata := v_metadata;
  v_tx.actor_id := (select auth.uid());
  v_tx.idempotency_key := p_idempotency_key;
  v_tx.request_hash := v_hash;
  if p_type = 'admin_deduction' and private.available_tokens(p_user_id, now()) < p_amount then
    perform private.insufficient(private.available_tokens(p_user_id, now()), p_amount);
  end if;
  v_tx := private.post_transaction(v_tx, now());
  return private.transaction_result(v_tx, false);
end;
$$;
revoke execute on function private.grant_tokens(uuid, bigint, text, text, text, timestamptz, jsonb) from public, anon, authenticated, service_role;

create or replace function public.grant_tokens(
  p_user_id uuid,
  p_amount bigint,
  p_type text,
  p_idempotency_key text,
  p_source text default null,
  p_expires_at timestamptz default null,
  p_metadata jsonb default '{}'::jsonb
)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if private.caller_kind() not in ('service', 'admin') then
    perform private.deny('Only the service or an admin may grant or deduct tokens.');
  end if;
  perform private.check_caller_key(p_idempotency_key);
  return private.grant_tokens(p_user_id, p_amount, p_type, p_idempotency_key, p_source, p_expires_at, p_metadata);
end;
$$;
revoke execute on function public.grant_tokens(uuid, bigint, text, text, text, timestamptz, jsonb) from public, anon, authenticated, service_role;
-- authenticated may call it; the function itself admits only admins (app_metadata.role).
grant execute on function public.grant_tokens(uuid, bigint, text, text, text, timestamptz, jsonb) to authenticated, service_role;

------------------------------------------------------------------------------------------
-- record_purchase
------------------------------------------------------------------------------------------

-- The purchase itself. The webhook records checkouts through it with their reserved
-- checkout:<session> keys; public.record_purchase checks the caller first.
create or replace function private.record_purchase(
  p_user_id uuid,
  p_pack_id text,
  p_idempotency_key text,
  p_amount_cents bigint,
  p_currency text,
  p_stripe_checkout_session_id text default null,
  p_stripe_payment_intent_id text default null,
  p_stripe_customer_id text default null,
  p_stripe_event_id text default null,
  p_metadata jsonb default '{}'::jsonb
)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_metadata jsonb;
  v_pack public.token_packs;
  v_hash text;
  v_tx public.token_transactions;
begin
  v_metadata := private.check_metadata(p_metadata);
  if p_user_id is null then
    perform private.invalid('p_user_id is required.');
  end if;
  perform private.check_key(p_idempotency_key);
  if p_pack_id is null then
    perform private.invalid('p_pack_id is required.');
  end if;
  if p_amount_cents is null or p_amount_cents < 0 then
    perform private.invalid('p_amount_cents must be zero or more.');
  end if;
  if p_currency is null or p_currency !~ '^[A-Za-z]{3}$' then
    perform private.invalid('p_currency must be a three-letter ISO currency code.');
  end if;
  -- Stripe's ids are far shorter; a long one is not Stripe's (and would not fit the indexes).
  if length(p_stripe_checkout_session_id) > 255 then
    perform private.invalid('p_stripe_checkout_session_id must be at most 255 characters.');
  elsif length(p_stripe_payment_intent_id) > 255 then
    perform private.invalid('p_stripe_payment_intent_id must be at most 255 characters.');
  elsif length(p_stripe_customer_id) > 255 then
    perform private.invalid('p_stripe_customer_id must be at most 255 characters.');
  elsif length(p_stripe_event_id) > 255 then
    perform private.invalid('p_stripe_event_id must be at most 255 characters.');
  end if;
  v_hash := md5(jsonb_build_array(p_user_id, p_pack_id, p_amount_cents, lower(p_currency), p_stripe_checkout_session_id,
    p_stripe_payment_intent_id, p_stripe_customer_id)::text);

  perform private.lock_balance(p_user_id);
  v_tx := private.prior_transaction(p_user_id, p_idempotency_key, v_hash);
  if v_tx.id is not null then
    return private.transaction_result(v_tx, true);
  end if;
  -- Keys are per user, a checkout session is not: it buys once, for one user. The lock on the
  -- session orders two first purchases of it for different users (each holds only its own
  -- user's lock), and the second finds the first.
  if p_stripe_checkout_session_id is not null then
    perform pg_advisory_xact_lock(hashtextextended('checkout_session:' || p_stripe_checkout_session_id, 0));
    if exists (select 1 from public.token_transactions t
               where t.stripe_checkout_session_id = p_stripe_checkout_session_id and t.transaction_type = 'purchase'
                 and not t.is_legacy and t.user_id <> p_user_id) then
      raise exception using
        errcode = 'PT409',
        message = 'This checkout session was already bought for another user.',
        detail = format('stripe_checkout_session_id: %s', p_stripe_checkout_session_id),
        hint = 'A checkout session buys once; attribute a payment to one user only.';
    end if;
  end if;

  -- Checked after the replay lookup: a second event about a recorded purchase (completed,
  -- then async_payment_succeeded) returns its first result even if the pack was retired since.
  select * into v_pack from public.token_packs tp where tp.id = p_pack_id;
  if not found or not v_pack.active then
    perform private.invalid(format('Unknown or inactive token pack %L.', p_pack_id));
  end if;

  perform private.settle_user(p_user_id, now());
  v_tx := null;
  v_tx.user_id := p_user_id;
  v_tx.transaction_type := 'purchase';
  v_tx.token_amount := v_pack.tokens;
  v_tx.source := 'stripe';
  v_tx.pack_id := v_pack.id;
  v_tx.amount_cents := p_amount_cents;
  v_tx.currency := lower(p_currency);
  v_tx.stripe_checkout_session_id := p_stripe_checkout_session_id;
  v_tx.stripe_payment_intent_id := p_stripe_payment_intent_id;
  v_tx.stripe_customer_id := p_stripe_customer_id;
  v_tx.stripe_event_id := p_stripe_event_id;
  v_tx.metadata := v_metadata;
  v_tx.idempotency_key := p_idempotency_key;
  v_tx.request_hash := v_hash;
  v_tx := private.post_transaction(v_tx, now());
  return private.transaction_result(v_tx, false);
end;
$$;
revoke execute on function private.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb) from public, anon, authenticated, service_role;

create or replace function public.record_purchase(
  p_user_id uuid,
  p_pack_id text,
  p_idempotency_key text,
  p_amount_cents bigint,
  p_currency text,
  p_stripe_checkout_session_id text default null,
  p_stripe_payment_intent_id text default null,
  p_stripe_customer_id text default null,
  p_stripe_event_id text default null,
  p_metadata jsonb default '{}'::jsonb
)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform private.require_service('Only the service records purchases.');
  perform private.check_caller_key(p_idempotency_key);
  return private.record_purchase(p_user_id, p_pack_id, p_idempotency_key, p_amount_cents, p_currency,
    p_stripe_checkout_session_id, p_stripe_payment_intent_id, p_stripe_customer_id, p_stripe_event_id, p_metadata);
end;
$$;
revoke execute on function public.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb) from public, anon, authenticated, service_role;
grant execute on function public.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb) to service_role;

------------------------------------------------------------------------------------------
-- get_token_balance
------------------------------------------------------------------------------------------

create or replace function public.get_token_balance(p_user_id uuid default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := private.target_user(p_user_id, true);
begin
  return private.balance_snapshot(v_user, now());
end;
$$;
revoke execute on function public.get_token_balance(uuid) from public, anon, authenticated, service_role;
grant execute on function public.get_token_balance(uuid) to authenticated, service_role;

------------------------------------------------------------------------------------------
-- verify_token_ledger
------------------------------------------------------------------------------------------

-- What the ledger says a balance is: the sum of the balance changes of every non-legacy row
-- of the three ledger tables, an archived month of usage counting through its summary row
-- (public.archive_usage). Per user: p_user_id's, or every user's with a row (p_user_id null).
-- verify_token_ledger and reconcile_token_ledger compare it with the stored balance.
create or replace function private.ledger_totals(p_user_id uuid)
returns table (user_id uuid, total bigint)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return query
  select x.user_id, sum(x.delta)::bigint from (
    select t.user_id, t.token_amount as delta from public.token_transactions t
     where not t.is_legacy and (p_user_id is null or t.user_id = p_user_id)
    union all
    select u.user_id, -u.tokens from public.token_usage u
     where not u.is_legacy and (p_user_id is null or u.user_id = p_user_id)
    union all
    select a.user_id, -a.tokens from public.token_usage_archives a
     where p_user_id is null or a.user_id = p_user_id
    union all
    select d.user_id, d.balance_after - d.balance_before from public.token_drips d
     where not d.is_legacy and (p_user_id is null or d.user_id = p_user_id)
  ) x group by x.user_id;
end;
$$;
revoke execute on function private.ledger_totals(uuid) from public, anon, authenticated, service_role;

-- Users whose stored balance is not what the ledger explains, or whose balance row caches
-- what their holds and due times are not. Empty when healthy.
--   ledger_balance: sum of the deltas of every non-legacy row in the three ledger tables, an
--                   archived month of usage counting through its summary rows
--   lots_balance:   sum of lots' remaining minus debt
--   stored_held / holds_held: token_balances.held / the tokens of the holds marked held
--   stored_next_due_at / next_due: token_balances.next_due_at / the earliest time something of
--     the user falls due (a lot with tokens lapses, a drip, a held hold lapses); the stored
--     time may be earlier, never later
create or replace function public.verify_token_ledger(p_user_id uuid default null)
returns table (user_id uuid, stored_balance bigint, ledger_balance bigint, lots_balance bigint, debt bigint,
               stored_held bigint, holds_held bigint, stored_next_due_at timestamptz, next_due timestamptz)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform private.require_service('Only the service verifies the ledger.');
  return query
  with ledger as (
    select lt.user_id, lt.total from private.ledger_totals(p_user_id) lt
  ),
  lots as (
    select l.user_id, sum(l.remaining)::bigint as total from public.token_lots l
     where p_user_id is null or l.user_id = p_user_id
     group by l.user_id
  ),
  holds as (
    select h.user_id, sum(h.tokens_held)::bigint as total, min(h.expires_at) as due from public.token_holds h
     where h.status = 'held' and (p_user_id is null or h.user_id = p_user_id)
     group by h.user_id
  ),
  due as (
    select x.user_id, min(x.at) as at from (
      select l.user_id, l.expires_at as at from public.token_lots l
       where l.has_tokens and l.expires_at is not null and (p_user_id is null or l.user_id = p_user_id)
      union all
      select s.user_id, s.next_drip_at from public.customer_subscriptions s
       where s.next_drip_at is not null and (p_user_id is null or s.user_id = p_user_id)
      union all
      select holds.user_id, holds.due from holds
    ) x group by x.user_id
  ),
  users as (
    select b.user_id from public.token_balances b where p_user_id is null or b.user_id = p_user_id
    union select ledger.user_id from ledger
    union select lots.user_id from lots
    union select holds.user_id from holds
  )
  select us.user_id,
         coalesce(b.balance, 0),
         coalesce(lg.total, 0),
         coalesce(lt.total, 0) - coalesce(b.debt, 0),
         coalesce(b.debt, 0),
         coalesce(b.held, 0),
         coalesce(hd.total, 0),
         b.next_due_at,
         du.at
  from users us
  left join public.token_balances b on b.user_id = us.user_id
  left join ledger lg on lg.user_id = us.user_id
  left join lots lt on lt.user_id = us.user_id
  left join holds hd on hd.user_id = us.user_id
  left join due du on du.user_id = us.user_id
  where coalesce(b.balance, 0) <> coalesce(lg.total, 0)
     or coalesce(b.balance, 0) <> coalesce(lt.total, 0) - coalesce(b.debt, 0)
     or coalesce(b.held, 0) <> coalesce(hd.total, 0)
     or b.next_due_at > du.at
  order by us.user_id;
end;
$$;
revoke execute on function public.verify_token_ledger(uuid) from public, anon, authenticated, service_role;
grant execute on function public.verify_token_ledger(uuid) to service_role;
