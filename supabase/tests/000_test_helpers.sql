-- Shared pgTAP helpers: schema `tests`. Test-only: created by the test run, never by a migration.
--
-- Why a committed, first-sorted file (the basejump approach) rather than helpers in every file
-- or in supabase/seed.sql (the pgflow approach):
--   * `supabase test db` (CLI 2.117.0) runs `pg_prove --ext .pg --ext .sql -r supabase/tests`,
--     one file after another, in the byte order of their paths: `000_...` runs before
--     `database/...`, so the helpers exist before any test needs them. The file commits (every
--     other test file rolls back), so the schema stays between files.
--   * `npm test` runs this file first on its own, then `database/` with `--jobs 2`, and the
--     upgrade test runs it before `supabase/upgrade_test/*.test.sql` (scripts/test.sh,
--     scripts/test-upgrade.sh).
--   * Creating the schema inside every test file would serialize parallel files on the catalog
--     and copy the helpers 120 times; the seed would put test helpers in every dev database and
--     would miss the upgrade test, which applies no seed.
-- The schema is dropped and created afresh on every run, so a database never keeps a helper
-- (or an old signature of one) that this file no longer defines.
-- No helper calls pgTAP, which `supabase test db` drops again after the run when it created it.
--
-- Roles switch the way PostgREST does it for each request: `set_config('role', ..., true)` and
-- `set_config('request.jwt.claims', ..., true)`, both local to the transaction, with claims
-- shaped like Supabase Auth's access tokens (sub, role, aud, email, app_metadata, ...).
-- Every function pins `search_path = pg_catalog, pg_temp` and qualifies every table and
-- function, as the project's own functions do.
begin;

set local client_min_messages = warning; -- no notice for each helper the drop cascades to
-- pgt-ignore lint/safety/banDropSchema: a test-only schema, rebuilt on every run
drop schema if exists tests cascade;
create schema tests;
comment on schema tests is 'pgTAP helpers, created by supabase/tests/000_test_helpers.sql (test runs only)';
-- The switching helpers are called while acting as any API role (to switch again or back).
grant usage on schema tests to anon, authenticated, service_role;

-- tests.create_user: a row in auth.users as sign-up leaves it (email provider); returns its id.
-- p_tokens > 0 also grants that many tokens (one admin_grant, as the service would), the usual
-- starting balance of a test.
create function tests.create_user(p_email text, p_id uuid default null, p_tokens bigint default 0)
returns uuid
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_id uuid := coalesce(p_id, pg_catalog.gen_random_uuid());
begin
  insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)
  values (v_id, 'authenticated', 'authenticated', p_email,
    '{"provider": "email", "providers": ["email"]}'::jsonb, '{}'::jsonb);
  if p_tokens > 0 then
    perform public.grant_tokens(v_id, p_tokens, 'admin_grant', 'tests.create_user:' || v_id);
  end if;
  return v_id;
end
$$;

-- tests.create_users: the cast of a test, each by tests.create_user, named in the order of
-- p_ids: <p_prefix>-alice@example.test, then bob, carol, dave, erin, frank.
create function tests.create_users(p_prefix text, variadic p_ids uuid[])
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_names constant text[] := array['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
begin
  for v_i in 1 .. pg_catalog.array_length(p_ids, 1) loop
    perform tests.create_user(p_prefix || '-' || v_names[v_i] || '@example.test', p_ids[v_i]);
  end loop;
end
$$;

-- tests.create_user_in_debt: tests.create_user starting p_debt tokens in debt, as the legacy
-- upgrade leaves a negative legacy balance (an opening_balance posted with debt allowed).
create function tests.create_user_in_debt(p_email text, p_id uuid, p_debt bigint)
returns uuid
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_tx public.token_transactions;
begin
  perform tests.create_user(p_email, p_id);
  perform private.lock_balance(p_id);
  v_tx.user_id := p_id;
  v_tx.transaction_type := 'opening_balance';
  v_tx.token_amount := -p_debt;
  v_tx.source := 'legacy';
  v_tx.idempotency_key := 'opening_balance:' || p_id;
  perform private.post_transaction(v_tx, pg_catalog.now(), true);
  return p_id;
end
$$;

-- tests.authenticate_with_claims: act as PostgREST does for a request bearing these JWT claims:
-- the role is the claim `role` (PostgREST's anonymous role when there is none). For tokens of
-- unusual shape (no sub, user_metadata claiming admin, ...); the helpers below cover the rest.
create function tests.authenticate_with_claims(p_claims jsonb)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  perform pg_catalog.set_config('role', coalesce(p_claims ->> 'role', 'anon'), true);
  perform pg_catalog.set_config('request.jwt.claims', p_claims::text, true);
end
$$;

-- The claims Supabase Auth signs for a user: app_metadata and user_metadata come from the
-- user's row (when it exists: a token may outlive its user).
create function tests.user_claims(p_user_id uuid, p_app_metadata jsonb default '{}')
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
    'sub', p_user_id,
    'role', 'authenticated',
    'aud', 'authenticated',
    'email', u.email,
    'phone', u.phone,
    'app_metadata', coalesce(u.raw_app_meta_data, '{}'::jsonb) || p_app_metadata,
    'user_metadata', coalesce(u.raw_user_meta_data, '{}'::jsonb),
    'is_anonymous', coalesce(u.is_anonymous, false)))
  from (select 1) one
  left join auth.users u on u.id = p_user_id
$$;

-- tests.authenticate_as: a signed-in user (role authenticated); p_app_metadata is merged into
-- the token's app_metadata. The user's row is read as the session user first: the caller may be
-- acting as a role that cannot read auth.users.
create function tests.authenticate_as(p_user_id uuid, p_app_metadata jsonb default '{}')
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  perform tests.clear_authentication();
  perform tests.authenticate_with_claims(tests.user_claims(p_user_id, p_app_metadata));
end
$$;

-- tests.authenticate_as_admin: a signed-in user whose app_metadata.role is 'admin' (only the
-- service can write app_metadata, so this is what the ledger trusts).
create function tests.authenticate_as_admin(p_user_id uuid)
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$ select tests.authenticate_as(p_user_id, '{"role": "admin"}') $$;

-- tests.authenticate_as_anon: a request with the anon key.
create function tests.authenticate_as_anon()
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
  select tests.authenticate_with_claims('{"role": "anon", "iss": "supabase"}')
$$;

-- tests.authenticate_as_service_role: a request with the service_role key (the Edge Function).
create function tests.authenticate_as_service_role()
returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
  select tests.authenticate_with_claims('{"role": "service_role", "iss": "supabase"}')
$$;

-- tests.clear_authentication: back to the session user (postgres) with no claims, as a
-- connection outside PostgREST (psql, pg_cron, a migration).
create function tests.clear_authentication()
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  perform pg_catalog.set_config('role', 'none', true);
  perform pg_catalog.set_config('request.jwt.claims', '', true);
end
$$;

-- tests.create_pack: a token pack on sale, its Stripe price 'price_<id>'; returns its id.
create function tests.create_pack(p_id text, p_tokens bigint default 1000, p_name text default '')
returns text language sql set search_path = pg_catalog, pg_temp as $$
  insert into public.token_packs (id, stripe_price_id, name, tokens) values (p_id, 'price_' || p_id, p_name, p_tokens)
  returning id
$$;

-- tests.create_subscription: a customer_subscriptions row as the webhook leaves it for a new
-- subscription (plan, status, the drip anchor: cycle 1 starts there); returns its id.
create function tests.create_subscription(p_id uuid, p_user_id uuid, p_plan_id text default 'default',
  p_status text default 'active', p_drip_anchor timestamptz default now())
returns uuid language sql set search_path = pg_catalog, pg_temp as $$
  insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
  values (p_id, p_user_id, p_plan_id, p_status, p_drip_anchor)
  returning id
$$;

-- tests.create_subscriber: the drip tests' usual start, a new user (tests.create_user) with one
-- subscription (tests.create_subscription); returns the subscription's id.
create function tests.create_subscriber(p_email text, p_user_id uuid, p_subscription_id uuid,
  p_plan_id text default 'default', p_status text default 'active', p_drip_anchor timestamptz default now())
returns uuid language sql set search_path = pg_catalog, pg_temp as $$
  select tests.create_subscription(p_subscription_id, tests.create_user(p_email, p_user_id), p_plan_id, p_status,
    p_drip_anchor)
$$;

-- tests.create_plan: a subscription plan (the default plan's 375,000 tokens every 28 days with one
-- rollover cycle unless told otherwise); returns its id.
create function tests.create_plan(p_id text, p_drip_tokens bigint default 375000, p_max_rollover_cycles integer default 1,
  p_max_rollover_tokens bigint default null, p_drip_interval interval default '28 days')
returns text language sql set search_path = pg_catalog, pg_temp as $$
  insert into public.subscription_plans (id, name, drip_tokens, drip_interval, max_rollover_cycles, max_rollover_tokens)
  values (p_id, 'tests: ' || p_id, p_drip_tokens, p_drip_interval, p_max_rollover_cycles, p_max_rollover_tokens)
  returning id
$$;

-- tests.create_dripping_subscriber: tests.create_subscriber anchored now(), then cycles 1 to
-- p_cycles issued on time (run_drip as of each cycle's start, the plan's interval apart), as
-- the drip, expiry and subscription tests start; returns the subscription's id.
create function tests.create_dripping_subscriber(p_email text, p_user_id uuid, p_subscription_id uuid,
  p_cycles integer default 1, p_plan_id text default 'default')
returns uuid language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
  v_interval interval := (select p.drip_interval from public.subscription_plans p where p.id = p_plan_id);
begin
  perform tests.create_subscriber(p_email, p_user_id, p_subscription_id, p_plan_id);
  for v_cycle in 1 .. p_cycles loop
    perform public.run_drip(p_subscription_id, now() + (v_cycle - 1) * v_interval);
  end loop;
  return p_subscription_id;
end
$$;

-- tests.break_drip: a subscription whose next drip fails: a drip row of 0 tokens already holds
-- its cycle p_cycle (written by the table owner, past every constraint, the user's balance
-- unchanged), so issuing that cycle fails with 23505. For the tests of what the batch and a
-- user's calls do with a subscription that fails to drip.
create function tests.break_drip(p_subscription_id uuid, p_cycle integer default 1)
returns void language sql set search_path = pg_catalog, pg_temp as $$
  insert into public.token_drips (user_id, subscription_id, plan_id, drip_amount, drip_date, cycle_number,
      rollover_from_previous, rollover_cycles_count, expired_tokens, balance_before, balance_after,
      billing_period_start, billing_period_end, metadata, is_legacy)
  select s.user_id, s.id, s.plan_id, 0, s.drip_anchor + (p_cycle - 1) * p.drip_interval, p_cycle, 0, 0, 0,
    coalesce(b.balance, 0), coalesce(b.balance, 0),
    s.drip_anchor + (p_cycle - 1) * p.drip_interval, s.drip_anchor + p_cycle * p.drip_interval, '{}', false
  from public.customer_subscriptions s
  join public.subscription_plans p on p.id = s.plan_id
  left join public.token_balances b on b.user_id = s.user_id
  where s.id = p_subscription_id
$$;

-- tests.freeze_other_lots: lots committed by other runs (the Deno tests, the seed) are not part
-- of a sweep test's scenario: within the test's rolled-back transaction they never lapse, so
-- what expire_tokens counts is the test's own.
create function tests.freeze_other_lots()
returns void language sql set search_path = pg_catalog, pg_temp as $$
  update public.token_lots set expires_at = 'infinity' where remaining > 0 and expires_at is not null
$$;

-- tests.freeze_other_subscriptions: subscriptions committed by other runs (the Deno tests, the
-- seed) are not part of a batch test's scenario: within the test's rolled-back transaction
-- none of them is due, so what run_due_drips counts is the test's own.
create function tests.freeze_other_subscriptions()
returns void language sql set search_path = pg_catalog, pg_temp as $$
  update public.customer_subscriptions set next_drip_at = null where next_drip_at is not null
$$;

-- tests.day: a time as days from now() (the anchor the drip tests use): '28', '-1', '27.5'.
create function tests.day(p_at timestamptz)
returns text language sql stable set search_path = pg_catalog, pg_temp as $$
  select case when p_at is null then 'never' when p_at = 'infinity' then 'infinity'
    else pg_catalog.trim_scale(pg_catalog.round(extract(epoch from p_at - pg_catalog.now()) / 86400, 6))::text end
$$;

-- tests.drip_schedule: where a subscription's schedule stands, 'cycle 3 at day 56'
-- (next_cycle_number, next_drip_at in days from now()) or 'cycle 2 unscheduled'.
create function tests.drip_schedule(p_subscription_id uuid)
returns text language sql stable set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.format('cycle %s %s', s.next_cycle_number,
      case when s.next_drip_at is null then 'unscheduled' else 'at day ' || tests.day(s.next_drip_at) end)
  from public.customer_subscriptions s
  where s.id = p_subscription_id
$$;

-- tests.drip_history: a subscription's token_drips rows in cycle order, one line each, for
-- `is(tests.drip_history(id), array[...])`:
--   'cycle 2: +375000, carried 375000 (1 cycle), expired 0, 375000 -> 750000, days 28-56'
-- the drip, rollover_from_previous (rollover_cycles_count), expired_tokens, balance_before ->
-- balance_after and the billing period in days from now(); ', dated day D' is added when
-- drip_date is not the period's start.
create function tests.drip_history(p_subscription_id uuid)
returns text[] language sql stable set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.array_agg(pg_catalog.format('cycle %s: +%s, carried %s (%s %s), expired %s, %s -> %s, days %s-%s%s',
      d.cycle_number, d.drip_amount, d.rollover_from_previous, d.rollover_cycles_count,
      case d.rollover_cycles_count when 1 then 'cycle' else 'cycles' end, d.expired_tokens, d.balance_before, d.balance_after,
      tests.day(d.billing_period_start), tests.day(d.billing_period_end),
      case when d.drip_date is distinct from d.billing_period_start then ', dated day ' || tests.day(d.drip_date) end)
    order by d.cycle_number)
  from public.token_drips d
  where d.subscription_id = p_subscription_id
$$;

-- tests.lot_history: a user's token_lots, one line each, oldest first, for
-- `is(tests.lot_history(id), array[...])`:
--   'drip 2: 0/375000, day 28 -> 84'   (a drip lot: its cycle; remaining/original; created -> expires)
--   'purchase: 100000/100000, day 0 -> never'
create function tests.lot_history(p_user_id uuid)
returns text[] language sql stable set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.array_agg(pg_catalog.format('%s%s: %s/%s, day %s -> %s', l.source, ' ' || d.cycle_number,
      l.remaining, l.original, tests.day(l.created_at), tests.day(l.expires_at))
    order by l.created_at, d.cycle_number, l.expires_at nulls last, l.source, l.original, l.remaining)
  from public.token_lots l
  left join public.token_drips d on d.id = l.drip_id
  where l.user_id = p_user_id
$$;

-- tests.reserve_as, tests.settle_as: the hold tests' usual steps, taken as the user the way
-- PostgREST runs the user's request (tests.authenticate_as), then back to the session user.
-- reserve_as returns the new hold's id; settle_as returns settle_hold's result.
create function tests.reserve_as(p_user_id uuid, p_tokens bigint, p_key text, p_feature text default 'chat')
returns uuid language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
  v_hold_id uuid;
begin
  perform tests.authenticate_as(p_user_id);
  v_hold_id := (public.reserve_tokens(p_feature, p_tokens, p_key) ->> 'hold_id')::uuid;
  perform tests.clear_authentication();
  return v_hold_id;
end
$$;

create function tests.settle_as(p_user_id uuid, p_hold_id uuid, p_tokens bigint, p_model text default null,
  p_metadata jsonb default '{}')
returns jsonb language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
  v_result jsonb;
begin
  perform tests.authenticate_as(p_user_id);
  v_result := public.settle_hold(p_hold_id, p_tokens, p_model, p_metadata);
  perform tests.clear_authentication();
  return v_result;
end
$$;

-- tests.settle_outcome: what a settle should be judged by, from settle_hold's result, its usage
-- row and the user's debt after it:
--   'tokens=40 before=100 after=60 released=0 overage=0 row_overage=0 debt=0' (+ ' replayed');
-- row_overage=none: no usage row (a settle of zero tokens).
create function tests.settle_outcome(p_result jsonb)
returns text language sql stable set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.format('tokens=%s before=%s after=%s released=%s overage=%s row_overage=%s debt=%s%s',
    p_result ->> 'tokens', p_result ->> 'balance_before', p_result ->> 'balance_after', p_result ->> 'released',
    p_result ->> 'overage_tokens',
    coalesce((select u.overage_tokens from public.token_usage u where u.id = (p_result ->> 'usage_id')::uuid)::text, 'none'),
    (select b.debt from public.token_balances b where b.user_id = (p_result ->> 'user_id')::uuid),
    case when (p_result ->> 'replayed')::boolean then ' replayed' end)
$$;

-- tests.lots_after_usage: record_usage of p_tokens as the user (the way PostgREST runs the
-- user's request), then tests.lot_history of the user: for a table of spends, one row a step,
-- each seeing the steps before it.
create function tests.lots_after_usage(p_user_id uuid, p_tokens bigint, p_key text)
returns text[] language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  perform tests.authenticate_as(p_user_id);
  perform public.record_usage('chat', p_tokens, p_key);
  perform tests.clear_authentication();
  return tests.lot_history(p_user_id);
end
$$;

-- tests.lapse_hold: a hold whose time ran out (expires_at one second ago). An open hold is
-- left as the sweep (expire_holds) leaves it when p_swept (status expired, everything
-- released), else as it is before the sweep reaches it (still 'held'); a settled or released
-- hold keeps its status. Holds are state, not ledger: moving one back simulates the time that
-- passed.
create function tests.lapse_hold(p_hold_id uuid, p_swept boolean default false)
returns void language sql set search_path = pg_catalog, pg_temp as $$
  update public.token_holds h
     set expires_at = pg_catalog.now() - interval '1 second',
         status = case when h.status in ('settled', 'released') then h.status when p_swept then 'expired' else 'held' end,
         tokens_released = case when h.status in ('settled', 'released') then h.tokens_released
           when p_swept then h.tokens_held end,
         closed_at = case when h.status in ('settled', 'released') then h.closed_at when p_swept then pg_catalog.now() end
   where h.id = p_hold_id
$$;

-- tests.ledger_footprint: everything the ledger holds for a user, as one line, to assert what a
-- call wrote (or that it wrote nothing). Fields in a fixed order, each only when there is
-- something to show:
--   balance=B debt=D        the token_balances row (balance shown when the row exists, debt when > 0)
--   lots=N remaining=R      token_lots: rows, sum of remaining
--   transactions=N          token_transactions rows
--   drips=N                 token_drips rows
--   usage=N used=T          token_usage rows, sum of tokens
--   holds=N held=H          token_holds rows, sum of tokens_held of those still 'held'
--   next_cycle=C            customer_subscriptions: the next drip cycle of each (by id)
-- 'none' when the user has nothing at all. Read as the session user (RLS would hide rows).
create function tests.ledger_footprint(p_user_id uuid)
returns text
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(nullif(pg_catalog.concat_ws(' ',
    'balance=' || b.balance,
    case when b.debt > 0 then 'debt=' || b.debt end,
    case when l.n > 0 then pg_catalog.format('lots=%s remaining=%s', l.n, l.remaining) end,
    case when t.n > 0 then 'transactions=' || t.n end,
    case when d.n > 0 then 'drips=' || d.n end,
    case when u.n > 0 then pg_catalog.format('usage=%s used=%s', u.n, u.used) end,
    case when h.n > 0 then pg_catalog.format('holds=%s held=%s', h.n, h.held) end,
    'next_cycle=' || s.cycles), ''),
    'none')
  from (select 1) one
  left join public.token_balances b on b.user_id = p_user_id
  cross join lateral (select pg_catalog.count(*) n, pg_catalog.sum(x.remaining) remaining
    from public.token_lots x where x.user_id = p_user_id) l
  cross join lateral (select pg_catalog.count(*) n
    from public.token_transactions x where x.user_id = p_user_id) t
  cross join lateral (select pg_catalog.count(*) n
    from public.token_drips x where x.user_id = p_user_id) d
  cross join lateral (select pg_catalog.count(*) n, pg_catalog.sum(x.tokens) used
    from public.token_usage x where x.user_id = p_user_id) u
  cross join lateral (select pg_catalog.count(*) n,
      coalesce(pg_catalog.sum(x.tokens_held) filter (where x.status = 'held'), 0) held
    from public.token_holds x where x.user_id = p_user_id) h
  cross join lateral (select pg_catalog.string_agg(x.next_cycle_number::text, ',' order by x.id) cycles
    from public.customer_subscriptions x where x.user_id = p_user_id) s
$$;

-- tests.balance_and_debt: the user's token_balances row as 'balance=B debt=D' (null: no row),
-- to assert what the stored balance and debt are after a call. Read as the current role.
create function tests.balance_and_debt(p_user_id uuid)
returns text language sql stable set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.format('balance=%s debt=%s', b.balance, b.debt) from public.token_balances b where b.user_id = p_user_id
$$;

-- tests.verified_balance: tests.balance_and_debt, the closing check of a scenario, with
-- ' unverified: ...' added when public.verify_token_ledger finds that the ledger does not
-- explain the user's balance (what it reports, as a row). Read as the session user.
create function tests.verified_balance(p_user_id uuid)
returns text language sql stable set search_path = pg_catalog, pg_temp as $$
  select tests.balance_and_debt(p_user_id) || coalesce(' unverified: ' || (
    select pg_catalog.string_agg(v::text, ', ') from public.verify_token_ledger(p_user_id) v), '')
$$;

-- tests.hold_statuses: the user's holds as 'key:status' in key order, ':tokens_used' added once
-- a hold is closed with a use (settled, released: 0), for the hold life-cycle tests that must
-- tell which hold a call closed and how.
create function tests.hold_statuses(p_user_id uuid)
returns text
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.string_agg(h.idempotency_key || ':' || h.status || coalesce(':' || h.tokens_used, ''), ','
    order by h.idempotency_key)
  from public.token_holds h
  where h.user_id = p_user_id
$$;

-- tests.error_sqlstate, tests.error_detail, tests.error_hint: run p_sql as the current role
-- and return that part of the error it raises (null when it raises none). The statement runs
-- in a subtransaction that is rolled back either way, so it leaves nothing behind. pgTAP's
-- throws_ok checks the SQLSTATE and message; these read what it cannot (detail, hint).
create function tests.error_part(p_sql text, p_part text)
returns text
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sqlstate text;
  v_detail text;
  v_hint text;
  v_message text;
begin
  begin
    execute p_sql;
    -- no error: undo what the statement did, as the error would have
    raise exception using errcode = 'TE000', message = 'tests.error_part: no error';
  exception when others then
    get stacked diagnostics v_sqlstate = returned_sqlstate, v_detail = pg_exception_detail,
      v_hint = pg_exception_hint, v_message = message_text;
    if v_sqlstate = 'TE000' and sqlerrm = 'tests.error_part: no error' then
      return null;
    end if;
  end;
  return case p_part when 'sqlstate' then v_sqlstate when 'detail' then v_detail when 'hint' then v_hint
    when 'summary' then v_sqlstate || ' ' || v_message || coalesce(' (' || v_detail || ')', '') end;
end
$$;

-- tests.error_sqlstate, tests.error_detail, tests.error_hint and tests.error_summary ('<SQLSTATE>
-- <message> (<detail>)', the whole answer a caller gets, e.g. 'PT402 Insufficient tokens.
-- (balance: 10, required: 11)') are tests.error_part for one part each: made here from the list.
do $$
declare
  v_part text;
begin
  foreach v_part in array array['sqlstate', 'detail', 'hint', 'summary'] loop
    execute pg_catalog.format('create function tests.%I(p_sql text) returns text language sql
      set search_path = pg_catalog, pg_temp as $f$ select tests.error_part(p_sql, %L) $f$', 'error_' || v_part, v_part);
  end loop;
end
$$;

-- tests.call_sql: the text of a call with named arguments, as PostgREST makes it, from p_args:
-- pairs of a parameter name and an SQL expression. p_param => p_value replaces that argument
-- (or adds it): a table of bad arguments varies one argument of a good call.
create function tests.call_sql(p_function text, p_args text[], p_param text default null, p_value text default null)
returns text language sql immutable set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.format('select %s(%s)', p_function,
    pg_catalog.string_agg(pg_catalog.format('%s => %s', a.name, a.value), ', ' order by a.i))
  from (
    select p_args[2 * i - 1] as name, case when p_args[2 * i - 1] = p_param then p_value else p_args[2 * i] end as value, i
      from pg_catalog.generate_series(1, pg_catalog.array_length(p_args, 1) / 2) i
    union all
    select p_param, p_value, 0 where p_param is not null and not p_param = any (p_args)
  ) a
$$;

-- tests.bad_arguments: the values every RPC refuses with 22023 for a parameter of a shared kind,
-- as rows (param, value as an SQL expression, description) for tests.call_sql:
--   p_user_id            null, unknown (00000000-0000-4000-8000-00000000dead), where it is required
--   p_tokens, p_amount   null, 0, negative, more than 10^15
--   p_idempotency_key    null, empty, blank, 256 characters
--   p_feature            null, unknown, another case of a known one
--   p_metadata           an array, a string, a number, JSON null, more than 16 KiB
-- (each RPC's own rules stay in its file, beside the call).
create function tests.bad_arguments(variadic p_params text[])
returns table (param text, value text, description text)
language sql immutable set search_path = pg_catalog, pg_temp as $$
  select p.param, k.value, pg_catalog.format('%s: %s is rejected', p.param, k.label)
  from pg_catalog.unnest(p_params) with ordinality p(param, n)
  join (values
    ('user', 1, 'null', 'a null user'), ('user', 2, '''00000000-0000-4000-8000-00000000dead''', 'an unknown user'),
    ('count', 1, 'null', 'null'), ('count', 2, '0', 'zero'), ('count', 3, '-5', 'a negative count'),
    ('count', 4, '1000000000000001', 'more than 10^15'),
    ('key', 1, 'null', 'null'), ('key', 2, '''''', 'an empty key'), ('key', 3, '''   ''', 'a blank key'),
    ('key', 4, 'repeat(''k'', 256)', 'a key of 256 characters'),
    ('feature', 1, 'null', 'null'), ('feature', 2, '''no_such_feature''', 'an unknown feature'),
    ('feature', 3, '''CHAT''', 'another case of a known feature'),
    ('metadata', 1, '''[]''', 'an array'), ('metadata', 2, '''"text"''', 'a string'), ('metadata', 3, '''42''', 'a number'),
    ('metadata', 4, '''null''::jsonb', 'JSON null'),
    ('metadata', 5, 'pg_catalog.jsonb_build_object(''blob'', pg_catalog.repeat(''x'', 17000))', 'more than 16 KiB')
  ) k(kind, i, value, label)
    on k.kind = case when p.param = 'p_user_id' then 'user' when p.param in ('p_tokens', 'p_amount') then 'count' when p.param = 'p_idempotency_key' then 'key'
      when p.param = 'p_feature' then 'feature' when p.param = 'p_metadata' then 'metadata' end
  order by p.n, k.i
$$;

-- tests.caller_claims: the JWT claims of a kind of caller, for tables of who may call what
-- (with tests.outcome_as): 'anon'; 'anon claiming admin' (app_metadata.role admin without a
-- user); 'user' (p_user_id's token); 'admin' (p_user_id's, with
-- app_metadata.role admin); 'user_metadata admin' (p_user_id's token claiming admin where the
-- user may write); 'no sub' (role authenticated without a user); 'service' (service_role);
-- 'session' (null: a session that did not switch role, like pg_cron or the SQL editor).
create function tests.caller_claims(p_caller text, p_user_id uuid default null)
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  case p_caller
    when 'anon' then return '{"role": "anon", "iss": "supabase"}';
    when 'anon claiming admin' then return '{"role": "anon", "iss": "supabase", "app_metadata": {"role": "admin"}}';
    when 'user' then return tests.user_claims(p_user_id);
    when 'admin' then return tests.user_claims(p_user_id, '{"role": "admin"}');
    when 'user_metadata admin' then
      return pg_catalog.jsonb_build_object('sub', p_user_id, 'role', 'authenticated', 'user_metadata', '{"role": "admin"}'::jsonb);
    when 'no sub' then return '{"role": "authenticated"}';
    when 'service' then return '{"role": "service_role", "iss": "supabase"}';
    when 'session' then return null;
  end case; -- any other kind: case_not_found
end
$$;

-- tests.outcome_as: run p_sql (a query of one text value) as PostgREST would for a request
-- with these JWT claims (null: a session that did not switch role, like pg_cron or the SQL
-- editor), then go back to the session user; returns the value, or 'error <SQLSTATE>'. Unlike
-- tests.error_sqlstate, what a call that succeeds wrote stays (a call that fails leaves
-- nothing). For tables of who may call what, run as the session user.
create function tests.outcome_as(p_claims jsonb, p_sql text)
returns text
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_result text;
begin
  perform tests.clear_authentication();
  if p_claims is not null then
    perform tests.authenticate_with_claims(p_claims);
  end if;
  begin
    execute p_sql into v_result;
  exception when others then
    v_result := 'error ' || sqlstate;
  end;
  perform tests.clear_authentication();
  return v_result;
end
$$;

-- tests.replay: make the same call (p_sql, one jsonb value) twice as a caller (claims as for
-- tests.outcome_as), then go back to the session user; says whether the second call replayed
-- the first: 'replayed: the first result' when the second is the first with replayed true
-- (else what came back). The first result is kept in the setting test.first for the test's
-- later checks (a later retry must return it too).
create function tests.replay(p_claims jsonb, p_sql text)
returns text language sql set search_path = pg_catalog, pg_temp as $$
  select case
    when c.first::jsonb -> 'replayed' is distinct from 'false'::jsonb then 'the first call was a replay: ' || c.first
    when c.again::jsonb = pg_catalog.jsonb_set(c.first::jsonb, '{replayed}', 'true') then 'replayed: the first result'
    else 'not the first result: ' || c.again
  end || pg_catalog.left(pg_catalog.set_config('test.first', c.first, true), 0) -- keeps the first result, adds nothing
  -- the second call is made after the first: the lateral subquery reads the first's result
  from (select tests.outcome_as(p_claims, p_sql) as first) f
  cross join lateral (select f.first, tests.outcome_as(p_claims, p_sql) as again) c
$$;

-- tests.execute_grantees: which API roles may execute a function ('anon, authenticated,
-- service_role' order; 'nobody'), for the service-only and user-facing RPCs' grant checks.
create function tests.execute_grantees(p_function regprocedure)
returns text language sql stable set search_path = pg_catalog, pg_temp as $$
  select coalesce(pg_catalog.string_agg(r.name, ', ' order by r.name), 'nobody')
  from pg_catalog.unnest(array['anon', 'authenticated', 'service_role']) r(name)
  where pg_catalog.has_function_privilege(r.name, p_function, 'execute')
$$;

-- tests.outcomes_by_caller: p_sql's outcome (tests.outcome_as) for anon, a signed-in user
-- (p_user_id) and an admin (p_admin_id), as one line: 'anon: error 42501, user: ..., admin:
-- ...'. The service-only RPCs' refusals, checked the same way for each. Run as the session user.
create function tests.outcomes_by_caller(p_sql text, p_user_id uuid, p_admin_id uuid)
returns text language sql set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.string_agg(c.caller || ': ' || coalesce(tests.outcome_as(tests.caller_claims(c.caller, c.id), p_sql), 'null'),
    ', ' order by c.n)
  from (values (1, 'anon', null::uuid), (2, 'user', p_user_id), (3, 'admin', p_admin_id)) c(n, caller, id)
$$;

-- Stripe events as the webhook hands them to public.handle_stripe_event (snapshot events, test
-- mode, trimmed to what the ledger reads). Ids, amounts and times are the test's to choose;
-- p_object's fields replace or add to the object's (e.g. metadata, customer, currency).
-- tests.stripe_event: the envelope around a Stripe object.
create function tests.stripe_event(p_id text, p_type text, p_object jsonb, p_created bigint default 1768435260)
returns jsonb language sql immutable set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.jsonb_build_object('id', p_id, 'object', 'event', 'api_version', '2025-03-31.basil',
    'created', p_created, 'data', pg_catalog.jsonb_build_object('object', p_object), 'livemode', false, 'type', p_type)
$$;

-- tests.customer_created: customer.created, an event the ledger does not handle (the
-- envelope's and the customer's created: 2026-01-01).
create function tests.customer_created(p_event_id text, p_customer_id text, p_object jsonb default '{}')
returns jsonb language sql immutable set search_path = pg_catalog, pg_temp as $$
  select tests.stripe_event(p_event_id, 'customer.created', pg_catalog.jsonb_build_object(
    'id', p_customer_id, 'object', 'customer', 'created', 1767225540, 'email', null, 'livemode', false,
    'metadata', '{}'::jsonb, 'name', null) || p_object, 1767225540)
$$;

-- tests.paid_checkout: checkout.session.completed of a pack bought and paid at once (mode
-- payment), for p_user_id (client_reference_id; null: none).
create function tests.paid_checkout(p_event_id text, p_session_id text, p_pack_id text, p_user_id uuid,
  p_payment_intent text, p_amount_total bigint default 500, p_created bigint default 1768435260,
  p_object jsonb default '{}')
returns jsonb language sql immutable set search_path = pg_catalog, pg_temp as $$
  select tests.stripe_event(p_event_id, 'checkout.session.completed', pg_catalog.jsonb_build_object(
    'id', p_session_id, 'object', 'checkout.session', 'amount_total', p_amount_total,
    'client_reference_id', p_user_id, 'currency', 'usd', 'customer', null,
    'metadata', pg_catalog.jsonb_build_object('pack_id', p_pack_id), 'mode', 'payment',
    'payment_intent', p_payment_intent, 'payment_status', 'paid', 'status', 'complete') || p_object, p_created)
$$;

-- tests.charge_refunded: charge.refunded, p_amount_refunded of p_amount cents refunded so far
-- (Stripe's amount_refunded is cumulative).
create function tests.charge_refunded(p_event_id text, p_charge_id text, p_payment_intent text,
  p_amount bigint, p_amount_refunded bigint, p_created bigint default 1768608000, p_object jsonb default '{}')
returns jsonb language sql immutable set search_path = pg_catalog, pg_temp as $$
  select tests.stripe_event(p_event_id, 'charge.refunded', pg_catalog.jsonb_build_object(
    'id', p_charge_id, 'object', 'charge', 'amount', p_amount, 'amount_captured', p_amount,
    'amount_refunded', p_amount_refunded, 'captured', true, 'currency', 'usd', 'disputed', false,
    'metadata', '{}'::jsonb, 'paid', true, 'payment_intent', p_payment_intent,
    'refunded', p_amount_refunded = p_amount, 'status', 'succeeded') || p_object, p_created)
$$;

-- tests.charge_dispute: a charge.dispute.* event (p_type: created, closed, ...) of p_amount
-- cents, with the dispute's status (needs_response, won, lost).
create function tests.charge_dispute(p_event_id text, p_type text, p_dispute_id text, p_charge_id text,
  p_payment_intent text, p_amount bigint, p_status text, p_created bigint default 1768867200,
  p_object jsonb default '{}')
returns jsonb language sql immutable set search_path = pg_catalog, pg_temp as $$
  select tests.stripe_event(p_event_id, 'charge.dispute.' || p_type, pg_catalog.jsonb_build_object(
    'id', p_dispute_id, 'object', 'dispute', 'amount', p_amount, 'charge', p_charge_id,
    'created', p_created, 'currency', 'usd', 'is_charge_refundable', false, 'metadata', '{}'::jsonb,
    'payment_intent', p_payment_intent, 'reason', 'fraudulent', 'status', p_status) || p_object, p_created)
$$;

-- A month of usage in the past, ready to be filled and archived: the tests that change
-- token_usage's partitions run one at a time (as the functions do) and take the tables a new
-- partition's foreign keys lock before anything else, so that no other test's rows wait in
-- between (a deadlock otherwise); then the month's partitions are made as the service would.
-- Returns the month's first moment (UTC).
create function tests.past_usage_month(p_days_ago int)
returns timestamptz language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
  v_month timestamptz := pg_catalog.date_trunc('month', pg_catalog.now() - pg_catalog.make_interval(days => p_days_ago), 'UTC');
begin
  perform private.lock_usage_partitions();
  lock table auth.users, public.token_holds, public.token_usage in share row exclusive mode;
  perform tests.authenticate_as_service_role();
  perform public.create_usage_partitions(v_month);
  perform tests.clear_authentication();
  return v_month;
end
$$;

-- Who may call what: switching roles and reading errors happen while acting as an API role;
-- creating users and reading footprints happen as the session user.
revoke all on all functions in schema tests from public;
grant execute on function
  tests.authenticate_with_claims(jsonb), tests.authenticate_as(uuid, jsonb),
  tests.authenticate_as_admin(uuid), tests.authenticate_as_anon(), tests.authenticate_as_service_role(),
  tests.clear_authentication(), tests.error_part(text, text), tests.error_sqlstate(text),
  tests.error_detail(text), tests.error_hint(text), tests.error_summary(text), tests.call_sql(text, text[], text, text),
  tests.bad_arguments(text[])
  to anon, authenticated, service_role;
-- The stored balance is read as the caller too (RLS applies, as it did to the query it replaces).
grant execute on function tests.balance_and_debt(uuid) to anon, authenticated, service_role;
-- A subscription is inserted as the caller (the service, in some tests), with its privileges.
grant execute on function tests.create_subscription(uuid, uuid, text, text, timestamptz)
  to anon, authenticated, service_role;
-- The Stripe event builders are pure: a test may build an event while acting as anyone.
grant execute on function
  tests.stripe_event(text, text, jsonb, bigint), tests.customer_created(text, text, jsonb), tests.paid_checkout(text, text, text, uuid, text, bigint, bigint, jsonb),
  tests.charge_refunded(text, text, text, bigint, bigint, bigint, jsonb),
  tests.charge_dispute(text, text, text, text, text, bigint, text, bigint, jsonb)
  to anon, authenticated, service_role;

commit;

-- The file is a pgTAP test too (pg_prove runs it): the helpers exist and behave.
select plan(14);
select has_function('tests', 'authenticate_as', array['uuid', 'jsonb'], 'tests.authenticate_as exists');
select has_function('tests', 'ledger_footprint', array['uuid'], 'tests.ledger_footprint exists');

begin;
select tests.create_user('tests-helpers@example.test', '00000000-0000-4000-8000-00000000e57e') is not null as created;
select tests.authenticate_as('00000000-0000-4000-8000-00000000e57e');
select is(array[current_user::text, auth.uid()::text, auth.role(), auth.jwt() ->> 'email', auth.jwt() ->> 'aud'],
  array['authenticated', '00000000-0000-4000-8000-00000000e57e', 'authenticated', 'tests-helpers@example.test', 'authenticated'],
  'authenticate_as acts as the user, as PostgREST does with the user''s token');
select tests.authenticate_as_admin('00000000-0000-4000-8000-00000000e57e');
select is(auth.jwt() -> 'app_metadata' ->> 'role', 'admin', 'authenticate_as_admin adds app_metadata.role = admin');
select tests.authenticate_as_service_role();
select is(array[current_user::text, auth.role()], array['service_role', 'service_role'], 'authenticate_as_service_role');
select tests.authenticate_as_anon();
select is(array[current_user::text, auth.role(), auth.uid()::text], array['anon', 'anon', null], 'authenticate_as_anon');
select tests.clear_authentication();
select is(array[current_user::text, auth.uid()::text, auth.role()], array[session_user::text, null, null],
  'clear_authentication goes back to the session user without claims');
select is(tests.ledger_footprint('00000000-0000-4000-8000-00000000e57e'), 'none', 'a new user has no footprint');
select is(tests.error_sqlstate($$select 1 / 0$$), '22012', 'error_sqlstate reads the SQLSTATE');
select is(tests.error_detail($q$do $d$ begin raise exception 'x' using detail = 'the detail'; end $d$$q$), 'the detail',
  'error_detail reads the detail');
select is(tests.error_hint($q$do $d$ begin raise exception 'x' using hint = 'the hint'; end $d$$q$), 'the hint',
  'error_hint reads the hint');
select is(tests.error_summary($q$do $d$ begin raise exception 'the message' using errcode = 'PT402', detail = 'd'; end $d$$q$),
  'PT402 the message (d)', 'error_summary reads the SQLSTATE, the message and the detail');
select is(tests.error_sqlstate($$select tests.create_user('tests-helpers-2@example.test')$$), null,
  'no error: null, and the statement is undone');
select is(tests.error_sqlstate($$select tests.caller_claims('nobody')$$), '20000',
  'caller_claims refuses a kind of caller it does not know');
select * from finish();
rollback;
