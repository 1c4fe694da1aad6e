-- Ledger RPCs: record_usage, grant_tokens, record_purchase, get_token_balance,
-- verify_token_ledger, and the private helpers they share.
--
-- Conventions
--   * Every public RPC is `security definer` with `search_path = pg_catalog, pg_temp` and
--     qualified names. Not `''`: with an empty path PostgreSQL still resolves unqualified type
--     names in the caller's temporary schema first, so a direct login could shadow `uuid` or
--     `text` with a domain whose CHECK runs its code as the owner. Naming pg_temp last makes it
--     searched last (tests/database/security).
--   * Errors: 22023 invalid argument, 42501 not allowed, PT402 insufficient tokens,
--     PT409 idempotency key reused for a different request (PostgREST: 400/403/402/409).
--   * Every mutation takes the user's token_balances row FOR UPDATE first (the one lock
--     point per user), then checks its idempotency key, then writes.
--   * Same key + same request returns the first result with "replayed": true.
--   * Helpers on the hot path are plpgsql, not `language sql`: PostgreSQL never inlines a SQL
--     function that has its own search_path and plans it again on every call, while plpgsql
--     keeps its plans for the session (measured: docs/benchmarks.md). record_usage checks its
--     arguments inline and calls the raising helpers only on failure, locks and reads the
--     balance in one statement, settles the user only when something is due, and burns the
--     first lot with one UPDATE when it covers the amount.

-- A fingerprint of each request, to tell a replay (same key, same request) from a reuse.
alter table public.token_transactions add column if not exists request_hash text;
alter table public.token_usage add column if not exists request_hash text;

------------------------------------------------------------------------------------------
-- Callers
------------------------------------------------------------------------------------------

-- Who is calling, as PostgREST tells us: the role it switched to (set from the verified JWT),
-- and for signed-in users whether app_metadata.role is 'admin' (app_metadata is written only
-- by the service, never by the user). A session that did not switch role (postgres in the
-- SQL editor, pg_cron jobs, migrations) is trusted like the service.
create or replace function private.caller_kind()
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
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

create or replace function private.deny(p_message text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using errcode = '42501', message = p_message;
end;
$$;

-- The user an RPC acts on. Signed-in users act on themselves (p_user_id null or their own
-- id); the service names the user; with p_admin_may_act_for_others, admins may name anyone.
create or replace function private.target_user(p_user_id uuid, p_admin_may_act_for_others boolean)
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_kind text := private.caller_kind();
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

------------------------------------------------------------------------------------------
-- Argument checks (22023, with a sentence that names the argument)
------------------------------------------------------------------------------------------

create or replace function private.invalid(p_message text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using errcode = '22023', message = p_message;
end;
$$;

create or replace function private.check_amount(p_value bigint, p_name text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_value is null or p_value <= 0 then
    perform private.invalid(format('%s must be a positive number of tokens.', p_name));
  elsif p_value > 1000000000000000 then
    perform private.invalid(format('%s must be at most 10^15 tokens.', p_name));
  end if;
end;
$$;

create or replace function private.check_key(p_key text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_key is null or btrim(p_key) = '' then
    perform private.invalid('p_idempotency_key is required: send the same key when you retry the same request.');
  elsif length(p_key) > 255 then
    perform private.invalid('p_idempotency_key must be at most 255 characters.');
  end if;
end;
$$;

create or replace function private.check_metadata(p_metadata jsonb)
returns jsonb
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_metadata is null then
    return '{}'::jsonb;
  end if;
  if jsonb_typeof(p_metadata) <> 'object' then
    perform private.invalid('p_metadata must be a JSON object.');
  end if;
  if octet_length(p_metadata::text) > 16384 then
    perform private.invalid('p_metadata must be at most 16 KiB of JSON.');
  end if;
  return p_metadata;
end;
$$;

create or replace function private.key_reused(p_key text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using
    errcode = 'PT409',
    message = 'This idempotency key was already used for a different request.',
    detail = format('key: %s', p_key),
    hint = 'Use a new key for a new request; resend the original request unchanged to get its result.';
end;
$$;

create or replace function private.insufficient(p_available bigint, p_required bigint)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using
    errcode = 'PT402',
    message = 'Insufficient tokens.',
    detail = format('balance: %s, required: %s', p_available, p_required);
end;
$$;

------------------------------------------------------------------------------------------
-- Balances and lots (callers hold the balance row lock)
------------------------------------------------------------------------------------------

-- Lock the user's balance row, creating it on first use. 22023 for an unknown user.
create or replace function private.lock_balance(p_user_id uuid)
returns public.token_balances
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row public.token_balances;
begin
  select * into v_row from public.token_balances b where b.user_id = p_user_id for update;
  if found then
    return v_row;
  end if;
  if not exists (select 1 from auth.users u where u.id = p_user_id) then
    perform private.invalid(format('Unknown user %s.', p_user_id));
  end if;
  insert into public.token_balances (user_id) values (p_user_id) on conflict (user_id) do nothing;
  select * into v_row from public.token_balances b where b.user_id = p_user_id for update;
  return v_row;
end;
$$;

-- Write one ledger transaction and apply it to lots and balance.
--   credit (token_amount > 0): repays debt first, the rest becomes a lot (expires_at from the row)
--   debit  (token_amount < 0): burns live lots (p_first_lot first, then burn order); what the
--          lots cannot cover becomes debt when p_allow_debt, else PT402.
-- Fills in balance_before/after and returns the stored row.
create or replace function private.post_transaction(
  p_tx public.token_transactions,
  p_as_of timestamptz,
  p_allow_debt boolean default false,
  p_first_lot uuid default null
)
returns public.token_transactions
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_bal public.token_balances;
  v_repay bigint := 0;
  v_burned bigint := 0;
  v_short bigint := 0;
  v_row public.token_transactions := p_tx;
begin
  select * into strict v_bal from public.token_balances b where b.user_id = p_tx.user_id;
  v_row.id := coalesce(p_tx.id, gen_random_uuid());
  v_row.created_at := coalesce(p_tx.created_at, now());
  v_row.metadata := coalesce(p_tx.metadata, '{}'::jsonb);
  v_row.is_legacy := false;
  v_row.balance_before := v_bal.balance;
  v_row.balance_after := v_bal.balance + p_tx.token_amount;

  if p_tx.token_amount > 0 then
    v_repay := least(v_bal.debt, p_tx.token_amount);
  elsif p_tx.token_amount < 0 then
    v_burned := private.burn_lots(p_tx.user_id, -p_tx.token_amount, p_as_of, p_first_lot);
    v_short := -p_tx.token_amount - v_burned;
    if v_short > 0 and not p_allow_debt then
      perform private.insufficient(v_burned, -p_tx.token_amount);
    end if;
  end if;

  insert into public.token_transactions select v_row.*;

  if p_tx.token_amount > 0 then
    insert into public.token_lots (user_id, source, original, remaining, expires_at, transaction_id, created_at)
    values (p_tx.user_id, p_tx.transaction_type, p_tx.token_amount, p_tx.token_amount - v_repay,
            p_tx.expires_at, v_row.id, v_row.created_at);
  end if;

  update public.token_balances b
     set balance = v_row.balance_after,
         debt = b.debt - v_repay + v_short,
         updated_at = now()
   where b.user_id = p_tx.user_id;
  return v_row;
end;
$$;

-- Burn up to p_amount tokens from the user's live lots: p_first_lot first (a clawback takes
-- back the purchase's own tokens first; an expiration empties its lapsed lot), then soonest
-- expiry, permanent lots last, oldest first. Other lots lapsed at p_as_of are never spent.
-- Returns what was burned.
create or replace function private.burn_lots(p_user_id uuid, p_amount bigint, p_as_of timestamptz, p_first_lot uuid default null)
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
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

-- Bring the user's ledger up to p_as_of before a change: lots that lapsed leave the balance
-- through `expiration` transactions. (The subscriptions migration adds due drips here.)
create or replace function private.settle_user(p_user_id uuid, p_as_of timestamptz)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_lot record;
  v_tx public.token_transactions;
begin
  for v_lot in
    select l.id, l.remaining, l.source, l.expires_at
    from public.token_lots l
    where l.user_id = p_user_id and l.remaining > 0 and l.expires_at <= p_as_of
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
  end loop;
end;
$$;

-- The live view of a user's tokens at p_as_of (no writes): lapsed lots do not count even
-- before a sweep has removed them.
create or replace function private.balance_snapshot(p_user_id uuid, p_as_of timestamptz)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  with bal as (
    select coalesce((select b.debt from public.token_balances b where b.user_id = p_user_id), 0) as debt
  ),
  live as (
    select l.source, l.remaining, l.expires_at, l.created_at, l.id
    from public.token_lots l
    where l.user_id = p_user_id and l.remaining > 0 and (l.expires_at is null or l.expires_at > p_as_of)
  )
  select jsonb_build_object(
    'user_id', p_user_id,
    'balance', coalesce((select sum(live.remaining) from live), 0) - bal.debt,
    'debt', bal.debt,
    'lots', coalesce((
      select jsonb_agg(jsonb_build_object('source', live.source, 'remaining', live.remaining, 'expires_at', live.expires_at)
                       order by live.expires_at nulls last, live.created_at, live.id)
      from live), '[]'::jsonb),
    'next_expiry', (select min(live.expires_at) from live)
  )
  from bal
$$;

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

  v_available := private.available_tokens(v_user, v_now);
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

-- What the user may spend now: the balance (after settle_user, every lot counted is live).
-- The holds migration subtracts active holds here.
create or replace function private.available_tokens(p_user_id uuid, p_as_of timestamptz)
returns bigint
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return coalesce((select b.balance from public.token_balances b where b.user_id = p_user_id), 0);
end;
$$;

------------------------------------------------------------------------------------------
-- Transactions: shared replay logic for grant_tokens and record_purchase
------------------------------------------------------------------------------------------

-- Returns the earlier transaction with this key when the request is the same (a replay),
-- null when the key is new, and PT409 when the key was used for a different request.
-- Keys of transactions are global (callers are the service and admins); an advisory lock on
-- the key serializes two first uses of one key for different users.
create or replace function private.prior_transaction(p_key text, p_hash text)
returns public.token_transactions
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_prior public.token_transactions;
begin
  perform pg_advisory_xact_lock(hashtextextended('token_transactions:' || p_key, 0));
  select * into v_prior from public.token_transactions t where t.idempotency_key = p_key;
  if found and v_prior.request_hash is distinct from p_hash then
    perform private.key_reused(p_key);
  end if;
  return v_prior;
end;
$$;

create or replace function private.transaction_result(p_tx public.token_transactions, p_replayed boolean)
returns jsonb
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object('transaction_id', p_tx.id, 'user_id', p_tx.user_id, 'transaction_type', p_tx.transaction_type,
    'token_amount', p_tx.token_amount, 'balance_before', p_tx.balance_before, 'balance_after', p_tx.balance_after,
    'replayed', p_replayed)
$$;

------------------------------------------------------------------------------------------
-- grant_tokens
------------------------------------------------------------------------------------------

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
declare
  v_kind text := private.caller_kind();
  v_metadata jsonb;
  v_hash text;
  v_tx public.token_transactions;
begin
  if v_kind not in ('service', 'admin') then
    perform private.deny('Only the service or an admin may grant or deduct tokens.');
  end if;
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
  if p_source is not null and length(p_source) > 200 then
    perform private.invalid('p_source must be at most 200 characters.');
  end if;
  v_hash := md5(jsonb_build_array(p_user_id, p_amount, p_type, p_source, p_expires_at, v_metadata)::text);

  perform private.lock_balance(p_user_id);
  v_tx := private.prior_transaction(p_idempotency_key, v_hash);
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

------------------------------------------------------------------------------------------
-- record_purchase
------------------------------------------------------------------------------------------

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
declare
  v_metadata jsonb;
  v_pack public.token_packs;
  v_hash text;
  v_tx public.token_transactions;
begin
  if private.caller_kind() <> 'service' then
    perform private.deny('Only the service records purchases.');
  end if;
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
  v_hash := md5(jsonb_build_array(p_user_id, p_pack_id, p_amount_cents, lower(p_currency), p_stripe_checkout_session_id,
    p_stripe_payment_intent_id, p_stripe_customer_id)::text);

  perform private.lock_balance(p_user_id);
  v_tx := private.prior_transaction(p_idempotency_key, v_hash);
  if v_tx.id is not null then
    return private.transaction_result(v_tx, true);
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

------------------------------------------------------------------------------------------
-- verify_token_ledger
------------------------------------------------------------------------------------------

-- Users whose stored balance is not what the ledger explains. Empty when healthy.
--   ledger_balance: sum of the deltas of every non-legacy row in the three ledger tables
--   lots_balance:   sum of lots' remaining minus debt
create or replace function public.verify_token_ledger(p_user_id uuid default null)
returns table (user_id uuid, stored_balance bigint, ledger_balance bigint, lots_balance bigint, debt bigint)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if private.caller_kind() <> 'service' then
    perform private.deny('Only the service verifies the ledger.');
  end if;
  return query
  with deltas as (
    select t.user_id, t.token_amount as delta from public.token_transactions t
     where not t.is_legacy and (p_user_id is null or t.user_id = p_user_id)
    union all
    select u.user_id, -u.tokens from public.token_usage u
     where not u.is_legacy and (p_user_id is null or u.user_id = p_user_id)
    union all
    select d.user_id, d.balance_after - d.balance_before from public.token_drips d
     where not d.is_legacy and (p_user_id is null or d.user_id = p_user_id)
  ),
  ledger as (
    select deltas.user_id, sum(deltas.delta)::bigint as total from deltas group by deltas.user_id
  ),
  lots as (
    select l.user_id, sum(l.remaining)::bigint as total from public.token_lots l
     where p_user_id is null or l.user_id = p_user_id
     group by l.user_id
  ),
  users as (
    select b.user_id from public.token_balances b where p_user_id is null or b.user_id = p_user_id
    union select ledger.user_id from ledger
    union select lots.user_id from lots
  )
  select us.user_id,
         coalesce(b.balance, 0),
         coalesce(lg.total, 0),
         coalesce(lt.total, 0) - coalesce(b.debt, 0),
         coalesce(b.debt, 0)
  from users us
  left join public.token_balances b on b.user_id = us.user_id
  left join ledger lg on lg.user_id = us.user_id
  left join lots lt on lt.user_id = us.user_id
  where coalesce(b.balance, 0) <> coalesce(lg.total, 0)
     or coalesce(b.balance, 0) <> coalesce(lt.total, 0) - coalesce(b.debt, 0)
  order by us.user_id;
end;
$$;

------------------------------------------------------------------------------------------
-- Privileges: Supabase grants EXECUTE on new public functions to anon, authenticated and
-- service_role (and Postgres to PUBLIC), so revoking from PUBLIC is not enough. Revoke from
-- every role, then grant back exactly what each RPC is for.
------------------------------------------------------------------------------------------

-- Postgres grants EXECUTE on new functions to PUBLIC and that default cannot be revoked per
-- schema, so every migration that adds private functions ends with this revoke.
revoke execute on all functions in schema private from public, anon, authenticated, service_role;

revoke execute on function
  public.record_usage(text, bigint, text, uuid, text, jsonb),
  public.grant_tokens(uuid, bigint, text, text, text, timestamptz, jsonb),
  public.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb),
  public.get_token_balance(uuid),
  public.verify_token_ledger(uuid)
from public, anon, authenticated, service_role;

grant execute on function public.record_usage(text, bigint, text, uuid, text, jsonb) to authenticated, service_role;
-- authenticated may call it; the function itself admits only admins (app_metadata.role).
grant execute on function public.grant_tokens(uuid, bigint, text, text, text, timestamptz, jsonb) to authenticated, service_role;
grant execute on function public.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb) to service_role;
grant execute on function public.get_token_balance(uuid) to authenticated, service_role;
grant execute on function public.verify_token_ledger(uuid) to service_role;
