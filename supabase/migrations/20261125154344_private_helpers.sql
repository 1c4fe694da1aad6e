-- Private helpers shared by every RPC: who is calling, argument checks and errors, the
-- per-user lock, posting a transaction to lots and balance, burning lots, what a user may
-- spend, the replay lookup of transactions, and schedule arithmetic.
--
-- Conventions (every function in this and the following migrations)
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
--     arguments inline and calls the raising helpers only on failure; its fast path (and
--     reserve_tokens') is one conditional UPDATE of the balance row, which caches the held
--     tokens and the next due time (refresh_due), and one INSERT; it burns the first lot with
--     one UPDATE when it covers the amount.
--   * Each function's privileges follow it: EXECUTE revoked from PUBLIC (which Postgres grants
--     on every new function and which cannot be revoked per schema) and from the API roles
--     (Supabase's default privileges grant them on public functions), then granted back to
--     exactly the roles an RPC is for. Private functions are granted to nobody.

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
revoke execute on function private.caller_kind() from public, anon, authenticated, service_role;

create or replace function private.deny(p_message text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using errcode = '42501', message = p_message;
end;
$$;
revoke execute on function private.deny(text) from public, anon, authenticated, service_role;

-- The guard of every service-only RPC (drips, sweeps, purchases, operators' RPCs): 42501 with
-- p_message for anyone but the service (a session that did not switch role counts as it).
create or replace function private.require_service(p_message text)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if private.caller_kind() <> 'service' then
    perform private.deny(p_message);
  end if;
end;
$$;
revoke execute on function private.require_service(text) from public, anon, authenticated, service_role;

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
revoke execute on function private.target_user(uuid, boolean) from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- Argument checks (22023, with a sentence that names the argument) and the other errors
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
revoke execute on function private.invalid(text) from public, anon, authenticated, service_role;

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
revoke execute on function private.check_amount(bigint, text) from public, anon, authenticated, service_role;

create or replace function private.check_key(p_key text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  -- Blank is any whitespace, not only spaces: Unicode's White_Space characters (tabs, line
  -- breaks, no-break and ideographic spaces...) and U+FEFF, so every character JavaScript's
  -- trim() removes. A key of such characters only is a client bug (an empty field), not a name.
  if p_key is null or p_key !~ '[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]' then
    raise exception using
      errcode = '22023',
      message = 'p_idempotency_key is required: send the same key when you retry the same request.',
      detail = case when p_key is null then 'key: null'
                    else format('key: %s character(s), all whitespace', length(p_key)) end,
      hint = 'Name the request in the key, e.g. chat:<message id>.';
  elsif length(p_key) > 255 then
    perform private.invalid('p_idempotency_key must be at most 255 characters.');
  end if;
end;
$$;
revoke execute on function private.check_key(text) from public, anon, authenticated, service_role;

-- A caller's key: check_key, and not one of the prefixes of the keys the ledger writes itself
-- (checkout:<session>, invoice:<invoice>, stripe:<event>, expiration:<lot>,
-- opening_balance:<user>, hold:<hold>:<usage>; signup:, void: and legacy: for the ledger's
-- other writers). A caller who took such a key first would make the ledger's own write a
-- PT409 on every retry (a paid checkout never credited). The public RPCs check their key
-- here; the ledger's own callers use the private functions, which check only check_key.
-- record_usage and reserve_tokens test the same list inline (hot path) and call this only
-- to raise; tests/database/idempotency_keys covers every prefix in every RPC.
create or replace function private.check_caller_key(p_key text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  perform private.check_key(p_key);
  if strpos(p_key, ':') > 0
     and split_part(p_key, ':', 1) in ('checkout', 'invoice', 'stripe', 'expiration', 'opening_balance', 'signup', 'hold', 'void', 'legacy') then
    raise exception using
      errcode = '22023',
      message = 'p_idempotency_key may not start with checkout:, invoice:, stripe:, expiration:, opening_balance:, signup:, hold:, void: or legacy: (the ledger''s own keys).',
      detail = format('key: %s', p_key),
      hint = 'Use a key of your own, e.g. named after your feature and operation: chat:<message id>.';
  end if;
end;
$$;
revoke execute on function private.check_caller_key(text) from public, anon, authenticated, service_role;

-- An as-of time (run_drip, run_due_drips, expire_tokens, expire_holds): required, finite and
-- within 366 days of now either way. Another time than now is for tests and catch-up; beyond
-- the window, infinity would loop until the statement timeout and a far future would issue
-- years of drips at once.
create or replace function private.check_as_of(p_as_of timestamptz)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_as_of is null then
    perform private.invalid('p_as_of is required.');
  elsif not isfinite(p_as_of) or p_as_of < now() - interval '366 days' or p_as_of > now() + interval '366 days' then
    raise exception using
      errcode = '22023',
      message = 'p_as_of must be within 366 days of now().',
      detail = format('p_as_of: %s, now: %s', p_as_of, now()),
      hint = 'Pass now() (the default); another time is for tests and catch-up.';
  end if;
end;
$$;
revoke execute on function private.check_as_of(timestamptz) from public, anon, authenticated, service_role;

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
revoke execute on function private.check_metadata(jsonb) from public, anon, authenticated, service_role;

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
revoke execute on function private.key_reused(text) from public, anon, authenticated, service_role;

create or replace function private.insufficient(p_available bigint, p_required bigint)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  -- What is available is never reported below 0 (lots may expire under holds; debt).
  raise exception using
    errcode = 'PT402',
    message = 'Insufficient tokens.',
    detail = format('balance: %s, required: %s', greatest(p_available, 0), p_required);
end;
$$;
revoke execute on function private.insufficient(bigint, bigint) from public, anon, authenticated, service_role;

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
revoke execute on function private.lock_balance(uuid) from public, anon, authenticated, service_role;

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
    where l.user_id = p_user_id and l.has_tokens
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
    where l.user_id = p_user_id and l.id = t.id
    returning t.take
  )
  select coalesce(sum(burned.take), 0)::bigint into v_burned from burned;
  return v_burned;
end;
$$;
revoke execute on function private.burn_lots(uuid, bigint, timestamptz, uuid) from public, anon, authenticated, service_role;

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

  -- The row is inserted whole, so the column default would not apply: take the entry number here.
  v_row.entry_seq := nextval('private.ledger_entry_seq');
  insert into public.token_transactions select v_row.*;

  if p_tx.token_amount > 0 then
    insert into public.token_lots (user_id, source, original, remaining, expires_at, transaction_id, created_at)
    values (p_tx.user_id, p_tx.transaction_type, p_tx.token_amount, p_tx.token_amount - v_repay,
            p_tx.expires_at, v_row.id, v_row.created_at);
  end if;

  -- A lot that will lapse is something that falls due: next_due_at never stays after it.
  update public.token_balances b
     set balance = v_row.balance_after,
         debt = b.debt - v_repay + v_short,
         updated_at = now(),
         next_due_at = least(b.next_due_at, case when p_tx.token_amount > v_repay then p_tx.expires_at end)
   where b.user_id = p_tx.user_id;
  return v_row;
end;
$$;
revoke execute on function private.post_transaction(public.token_transactions, timestamptz, boolean, uuid) from public, anon, authenticated, service_role;

-- Tokens held by the user's active holds at p_as_of (p_except: leave out this hold).
create or replace function private.held_tokens(p_user_id uuid, p_as_of timestamptz, p_except uuid default null)
returns bigint
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select coalesce(sum(h.tokens_held), 0)::bigint
          from public.token_holds h
          where h.user_id = p_user_id and h.status = 'held' and h.expires_at > p_as_of
            and h.id is distinct from p_except);
end;
$$;
revoke execute on function private.held_tokens(uuid, timestamptz, uuid) from public, anon, authenticated, service_role;

-- What the user may spend now: the balance (after settle_user, every lot counted is live)
-- minus what active holds reserve, never below 0 (the holds may exceed the balance after
-- lots expired under them or a clawback; a balance in debt is negative).
create or replace function private.available_tokens(p_user_id uuid, p_as_of timestamptz)
returns bigint
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return greatest(coalesce((select b.balance from public.token_balances b where b.user_id = p_user_id), 0)
                  - private.held_tokens(p_user_id, p_as_of), 0);
end;
$$;
revoke execute on function private.available_tokens(uuid, timestamptz) from public, anon, authenticated, service_role;

-- Set the balance row's cache exactly (held, next_due_at; see token_balances), so that the
-- user's next spends take the fast path until something falls due. The full paths of
-- record_usage, reserve_tokens and settle_hold call it after their writes. Caller holds the lock.
create or replace function private.refresh_due(p_user_id uuid)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  update public.token_balances b
     set held = coalesce((select sum(h.tokens_held) from public.token_holds h
                          where h.user_id = p_user_id and h.status = 'held'), 0),
         next_due_at = coalesce(least(
           (select min(l.expires_at) from public.token_lots l where l.user_id = p_user_id and l.has_tokens),
           (select min(s.next_drip_at) from public.customer_subscriptions s where s.user_id = p_user_id),
           (select min(h.expires_at) from public.token_holds h where h.user_id = p_user_id and h.status = 'held')),
           'infinity')
   where b.user_id = p_user_id;
end;
$$;
revoke execute on function private.refresh_due(uuid) from public, anon, authenticated, service_role;

-- Writes the ledger itself never makes (an operator correcting an expiry or a hold by hand, a
-- test simulating time) set the balance row's cache again, so the fast path of a spend never
-- counts a lapsed lot or hold, nor misses a hold. The WHEN clauses keep the ledger's own writes
-- (burns, settles, releases, sweeps, drips) out of it.
create or replace function private.refresh_due_trigger()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform private.refresh_due(new.user_id);
  if tg_op = 'UPDATE' and old.user_id is distinct from new.user_id then
    perform private.refresh_due(old.user_id);
  end if;
  return null;
end;
$$;
revoke execute on function private.refresh_due_trigger() from public, anon, authenticated, service_role;

drop trigger if exists token_lots_refresh_due on public.token_lots;
create trigger token_lots_refresh_due
  after update of expires_at, remaining, user_id on public.token_lots
  for each row when (new.remaining > 0 and new.expires_at is not null
                     and (old.expires_at is null or new.expires_at < old.expires_at or old.remaining = 0
                          or new.user_id is distinct from old.user_id))
  execute function private.refresh_due_trigger();
drop trigger if exists token_holds_refresh_due on public.token_holds;
create trigger token_holds_refresh_due
  after update of expires_at, status, tokens_held, user_id on public.token_holds
  for each row when (new.status = 'held' and (new.expires_at < old.expires_at or old.status <> 'held'
                                              or new.tokens_held <> old.tokens_held or new.user_id is distinct from old.user_id))
  execute function private.refresh_due_trigger();

-- The live view of a user's tokens at p_as_of (no writes), for get_token_balance: lapsed
-- lots do not count even before a sweep has removed them; held and available as above.
-- next_expiry and next_drip_at are the next moments the balance changes without a call of
-- the user's: a lot lapses, a drip comes due (of a subscription that drips: active or
-- trialing). A client watching its token_balances row reads this again at each of them
-- (docs/api.md#live-balances).
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
    where l.user_id = p_user_id and l.has_tokens and (l.expires_at is null or l.expires_at > p_as_of)
  ),
  totals as (
    select coalesce((select sum(live.remaining) from live), 0) - bal.debt as balance,
           private.held_tokens(p_user_id, p_as_of) as held,
           bal.debt
    from bal
  )
  select jsonb_build_object(
    'user_id', p_user_id,
    'balance', totals.balance,
    'debt', totals.debt,
    'held', totals.held,
    'available', greatest(totals.balance - totals.held, 0),
    'lots', coalesce((
      select jsonb_agg(jsonb_build_object('source', live.source, 'remaining', live.remaining, 'expires_at', live.expires_at)
                       order by live.expires_at nulls last, live.created_at, live.id)
      from live), '[]'::jsonb),
    'next_expiry', (select min(live.expires_at) from live),
    'next_drip_at', (select min(s.next_drip_at) from public.customer_subscriptions s
                     where s.user_id = p_user_id and s.status in ('active', 'trialing'))
  )
  from totals
$$;
revoke execute on function private.balance_snapshot(uuid, timestamptz) from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- Usage keys: their window
------------------------------------------------------------------------------------------

-- How long a usage key is remembered (docs/scaling.md#usage-keys). Within it a retry replays
-- the first result (or is PT409 for another request): record_usage reads the user's rows of
-- this window under the user's lock. After it, the same key is new usage. Stripe keeps its
-- keys 24 hours; seven days leave retries and queues a wide margin at no cost (the lookup
-- reads at most two monthly partitions either way). Partitions younger than the window are
-- never archived.
create or replace function private.usage_key_window()
returns interval
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select interval '7 days'
$$;
revoke execute on function private.usage_key_window() from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- Transactions: shared replay logic for grant_tokens and record_purchase
------------------------------------------------------------------------------------------

-- Returns the user's earlier transaction with this key when the request is the same (a
-- replay), null when the key is new, and PT409 when the key was used for a different request.
-- Keys are scoped to the user (unique (user_id, idempotency_key)), so every lookup stays on
-- that user's rows and could run on the shard that holds them; callers hold the user's
-- balance lock, which orders two first uses of one key. A Stripe object that must be applied
-- once whatever user it names is guarded where it is applied (stripe_events' primary key for
-- an event, private.record_purchase for a checkout session).
create or replace function private.prior_transaction(p_user_id uuid, p_key text, p_hash text)
returns public.token_transactions
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_prior public.token_transactions;
begin
  select * into v_prior from public.token_transactions t where t.user_id = p_user_id and t.idempotency_key = p_key;
  if found and v_prior.request_hash is distinct from p_hash then
    perform private.key_reused(p_key);
  end if;
  return v_prior;
end;
$$;
revoke execute on function private.prior_transaction(uuid, text, text) from public, anon, authenticated, service_role;

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
revoke execute on function private.transaction_result(public.token_transactions, boolean) from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- Schedule arithmetic
------------------------------------------------------------------------------------------

-- p_start + p_count x p_interval on UTC wall-clock timestamps: a day is always 24 hours,
-- whatever the session's time zone.
create or replace function private.add_intervals(p_start timestamptz, p_interval interval, p_count integer)
returns timestamptz
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select ((p_start at time zone 'UTC') + p_count * p_interval) at time zone 'UTC'
$$;
revoke execute on function private.add_intervals(timestamptz, interval, integer) from public, anon, authenticated, service_role;

-- The number of the cycle of a grid (p_anchor, p_interval) under way at p_at: 1 before the
-- anchor. A day is always 24 hours on the grid, so epoch arithmetic is exact.
create or replace function private.cycle_in_progress(p_anchor timestamptz, p_interval interval, p_at timestamptz)
returns integer
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select 1 + greatest(floor(extract(epoch from p_at - p_anchor) / extract(epoch from p_interval)), 0)::integer
$$;
revoke execute on function private.cycle_in_progress(timestamptz, interval, timestamptz) from public, anon, authenticated, service_role;

-- The first cycle, from p_cycle on, of a grid (p_anchor, p_interval) of one of p_user_id's
-- subscriptions that is not a cycle the legacy system already dripped for the user: it must
-- start at least half a cycle after the user's last legacy cycle began (the legacy system's
-- times and Stripe's need not agree to the hour; the cycle in between is the legacy one).
-- p_cycle itself for a user without legacy drips.
create or replace function private.after_legacy_cycles(
  p_user_id uuid, p_anchor timestamptz, p_interval interval, p_cycle integer
)
returns integer
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_last timestamptz;
  v_elapsed double precision;
  v_step double precision := extract(epoch from p_interval);
begin
  select max(coalesce(d.billing_period_start, d.drip_date, d.created_at)) into v_last
    from public.token_drips d where d.user_id = p_user_id and d.is_legacy;
  if v_last is null then
    return p_cycle;
  end if;
  -- the first cycle that starts at or after v_last + half a cycle
  v_elapsed := extract(epoch from v_last - p_anchor) + v_step / 2;
  return greatest(p_cycle, 1 + greatest(ceil(v_elapsed / v_step), 0)::integer);
end;
$$;
revoke execute on function private.after_legacy_cycles(uuid, timestamptz, interval, integer) from public, anon, authenticated, service_role;
