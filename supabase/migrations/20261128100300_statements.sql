-- Statements and balances at a moment: "why is my balance X?" answered from the ledger.
--
--   get_token_statement   every entry that changed a user's tokens, newest first, in pages
--                          with an opaque keyset cursor
--   get_token_balance_at  the balance, debt, holds and live lots as they were at a moment,
--                          replayed from the same entries
--
-- The order of entries is entry_seq (see the schema migration): the order in which they were
-- written under the user's lock, entries of one transaction included. A page continues
-- strictly below the last entry_seq it returned, and every entry written later has a higher
-- entry_seq, so pages never repeat or skip an entry while new entries arrive.
-- Legacy rows (the history before the upgrade) come after every ledger entry (they are older
-- than the opening balance), newest first by created_at; usage rows corrected as misfiled
-- are shown through their counterpart transaction only.

------------------------------------------------------------------------------------------
-- Entries
------------------------------------------------------------------------------------------

-- One statement entry as JSON: what every entry has, and the details of its kind.
create or replace function private.statement_entry(
  p_kind text,
  p_id uuid,
  p_type text,
  p_at timestamptz,
  p_tokens bigint,
  p_balance_before bigint,
  p_balance_after bigint,
  p_legacy boolean,
  p_details jsonb
)
returns jsonb
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object('entry_id', p_id, 'kind', p_kind, 'type', p_type, 'at', p_at, 'tokens', p_tokens,
    'balance_before', p_balance_before, 'balance_after', p_balance_after, 'legacy', p_legacy,
    'details', jsonb_strip_nulls(p_details))
$$;
revoke execute on function private.statement_entry(text, uuid, text, timestamptz, bigint, bigint, bigint, boolean, jsonb)
  from public, anon, authenticated, service_role;

create or replace function private.transaction_details(p_tx public.token_transactions)
returns jsonb
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object('source', p_tx.source, 'reason', p_tx.metadata ->> 'reason', 'pack_id', p_tx.pack_id,
    'amount_cents', p_tx.amount_cents, 'currency', p_tx.currency, 'expires_at', p_tx.expires_at,
    'stripe_checkout_session_id', p_tx.stripe_checkout_session_id, 'stripe_payment_intent_id', p_tx.stripe_payment_intent_id,
    'stripe_charge_id', p_tx.stripe_charge_id, 'stripe_customer_id', p_tx.stripe_customer_id,
    'stripe_event_id', p_tx.stripe_event_id, 'related_transaction_id', p_tx.related_transaction_id,
    'actor_id', p_tx.actor_id, 'idempotency_key', p_tx.idempotency_key,
    'corrects_usage_id', p_tx.metadata ->> 'misfiled_usage_id', 'metadata', nullif(p_tx.metadata, '{}'::jsonb))
$$;
revoke execute on function private.transaction_details(public.token_transactions) from public, anon, authenticated, service_role;

create or replace function private.usage_details(p_usage public.token_usage)
returns jsonb
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object('feature', p_usage.feature, 'model', p_usage.model, 'hold_id', p_usage.hold_id,
    'overage_tokens', nullif(p_usage.overage_tokens, 0), 'idempotency_key', p_usage.idempotency_key,
    'metadata', nullif(p_usage.metadata, '{}'::jsonb))
$$;
revoke execute on function private.usage_details(public.token_usage) from public, anon, authenticated, service_role;

create or replace function private.drip_details(p_drip public.token_drips)
returns jsonb
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object('subscription_id', p_drip.subscription_id, 'plan_id', p_drip.plan_id,
    'cycle_number', p_drip.cycle_number, 'drip_amount', p_drip.drip_amount,
    'rollover_from_previous', p_drip.rollover_from_previous, 'rollover_cycles_count', p_drip.rollover_cycles_count,
    'expired_tokens', p_drip.expired_tokens, 'billing_period_start', p_drip.billing_period_start,
    'billing_period_end', p_drip.billing_period_end)
$$;
revoke execute on function private.drip_details(public.token_drips) from public, anon, authenticated, service_role;

-- An archived month of usage (public.archive_usage), shown as one entry.
create or replace function private.archive_details(p_archive public.token_usage_archives)
returns jsonb
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select jsonb_build_object('period_start', p_archive.period_start, 'period_end', p_archive.period_end,
    'usage_rows', p_archive.usage_rows, 'legacy_rows', p_archive.legacy_rows, 'archived_table', p_archive.archived_table)
$$;
revoke execute on function private.archive_details(public.token_usage_archives) from public, anon, authenticated, service_role;

-- Statements and balances at a moment see an archived month whole (one entry; the state at its
-- end): a period that starts or ends inside one of the user's archived months is refused.
create or replace function private.check_not_inside_archive(p_user_id uuid, p_name text, p_at timestamptz)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_archive public.token_usage_archives;
begin
  select * into v_archive from public.token_usage_archives a
   where a.user_id = p_user_id and a.period_start < p_at and a.period_end > p_at;
  if found then
    raise exception using errcode = '22023',
      message = format('%s falls inside an archived month of usage (%s to %s).', p_name, v_archive.period_start,
                       v_archive.period_end),
      detail = 'The month''s usage rows were archived (public.archive_usage): only its total and the state at its end remain.',
      hint = 'Use a time on or outside the month''s bounds: the month counts whole.';
  end if;
end;
$$;
revoke execute on function private.check_not_inside_archive(uuid, text, timestamptz) from public, anon, authenticated, service_role;

-- Cursors are opaque to callers: base64url of {"u": user, "p": phase, "s": entry_seq, "t": at}
-- (phase 1: ledger entries by entry_seq; phase 0: legacy rows by created_at, then entry_seq).
create or replace function private.statement_cursor(p_user_id uuid, p_phase integer, p_seq bigint, p_at timestamptz)
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select rtrim(translate(encode(convert_to(jsonb_build_object('u', p_user_id, 'p', p_phase, 's', p_seq, 't', p_at)::text, 'UTF8'),
    'base64'), E'+/\n', '-_'), '=')
$$;
revoke execute on function private.statement_cursor(uuid, integer, bigint, timestamptz) from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- get_token_statement
------------------------------------------------------------------------------------------

-- get_token_statement: the entries that changed a user's tokens, newest first.
--   p_from / p_to: only entries written at or after p_from and before p_to (created_at).
--   p_limit: 1..1000 entries per page. p_cursor: next_cursor of the previous page.
-- Result: {user_id, entries: [...], next_cursor} (next_cursor null on the last page).
create or replace function public.get_token_statement(
  p_user_id uuid default null,
  p_from timestamptz default null,
  p_to timestamptz default null,
  p_limit integer default 100,
  p_cursor text default null
)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := private.target_user(p_user_id, true);
  v_cursor jsonb;
  v_phase integer := 1;
  v_seq bigint := 9223372036854775807;
  v_at timestamptz := 'infinity'::timestamptz;
  v_rows jsonb := '[]'::jsonb;
  v_legacy jsonb;
  v_last jsonb;
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    perform private.invalid('p_limit must be between 1 and 1000.');
  end if;
  if p_from > p_to then
    perform private.invalid('p_from must not be after p_to.');
  end if;
  perform private.check_not_inside_archive(v_user, 'p_from', p_from);
  perform private.check_not_inside_archive(v_user, 'p_to', p_to);
  if p_cursor is not null then
    begin
      v_cursor := convert_from(decode(rpad(translate(p_cursor, '-_', '+/'), (length(p_cursor) + 3) / 4 * 4, '='), 'base64'),
                               'UTF8')::jsonb;
      v_phase := (v_cursor ->> 'p')::integer;
      v_seq := (v_cursor ->> 's')::bigint;
      v_at := coalesce((v_cursor ->> 't')::timestamptz, '-infinity');
      if (v_cursor ->> 'u')::uuid is distinct from v_user or v_phase not in (0, 1) or v_seq is null then
        raise exception 'not a cursor of this statement';
      end if;
    exception when others then
      raise exception using errcode = '22023', message = 'p_cursor is not a cursor of this statement.',
        hint = 'Pass next_cursor from the previous page of the same user''s statement, or null for the first page.';
    end;
  end if;

  -- Phase 1: ledger entries below the cursor, by entry_seq (each branch reads its
  -- (user_id, entry_seq) index backwards and stops after p_limit + 1 rows).
  if v_phase = 1 then
    select coalesce(jsonb_agg(jsonb_build_object('p', 1, 's', x.seq, 't', null, 'e', x.entry) order by x.seq desc), '[]'::jsonb)
      into v_rows
      from (
        select page.seq, page.entry from (
          (select t.entry_seq as seq,
                  private.statement_entry('transaction', t.id, t.transaction_type, t.created_at, t.token_amount,
                    t.balance_before, t.balance_after, false, private.transaction_details(t)) as entry
             from public.token_transactions t
            where t.user_id = v_user and not t.is_legacy and t.entry_seq < v_seq
              and (p_from is null or t.created_at >= p_from) and (p_to is null or t.created_at < p_to)
            order by t.entry_seq desc limit p_limit + 1)
          union all
          (select u.entry_seq,
                  private.statement_entry('usage', u.id, 'usage', u.created_at, -u.tokens, u.balance_before,
                    u.balance_after, false, private.usage_details(u))
             from public.token_usage u
            where u.user_id = v_user and not u.is_legacy and u.entry_seq < v_seq
              and (p_from is null or u.created_at >= p_from) and (p_to is null or u.created_at < p_to)
            order by u.entry_seq desc limit p_limit + 1)
          union all
          (select d.entry_seq,
                  private.statement_entry('drip', d.id, 'drip', d.created_at, d.balance_after - d.balance_before,
                    d.balance_before, d.balance_after, false, private.drip_details(d))
             from public.token_drips d
            where d.user_id = v_user and not d.is_legacy and d.entry_seq < v_seq
              and (p_from is null or d.created_at >= p_from) and (p_to is null or d.created_at < p_to)
            order by d.entry_seq desc limit p_limit + 1)
          union all
          -- an archived month: one entry in the place of its last row (balance_before unknown:
          -- other entries of the month may lie between its rows)
          (select a.last_entry_seq,
                  private.statement_entry('archived_usage', null, 'usage', a.last_entry_at, -a.tokens, null,
                    a.last_balance_after, false, private.archive_details(a))
             from public.token_usage_archives a
            where a.user_id = v_user and a.last_entry_seq is not null and a.last_entry_seq < v_seq
              and (p_from is null or a.period_start >= p_from) and (p_to is null or a.period_end <= p_to)
            order by a.last_entry_seq desc limit p_limit + 1)
        ) page
        order by page.seq desc
        limit p_limit + 1
      ) x;
  end if;

  -- Phase 0: legacy rows (older than every ledger entry), newest first by created_at (an
  -- undated row last), then entry_seq. Misfiled usage rows appear as their counterpart.
  if jsonb_array_length(v_rows) <= p_limit then
    if v_phase = 1 then
      v_at := 'infinity'::timestamptz;
      v_seq := 9223372036854775807;
    end if;
    select coalesce(jsonb_agg(jsonb_build_object('p', 0, 's', x.seq, 't', x.at, 'e', x.entry) order by x.at desc, x.seq desc),
                    '[]'::jsonb)
      into v_legacy
      from (
        select page.* from (
          select coalesce(t.created_at, '-infinity') as at, t.entry_seq as seq,
                 private.statement_entry('transaction', t.id, t.transaction_type, t.created_at, t.token_amount,
                   t.balance_before, t.balance_after, true, private.transaction_details(t)) as entry
            from public.token_transactions t
           where t.user_id = v_user and t.is_legacy
          union all
          select coalesce(u.created_at, '-infinity'), u.entry_seq,
                 private.statement_entry('usage', u.id, 'usage', u.created_at, -u.tokens, u.balance_before,
                   u.balance_after, true, private.usage_details(u))
            from public.token_usage u
           where u.user_id = v_user and u.is_legacy
             and not exists (select 1 from public.token_usage_corrections c where c.user_id = u.user_id and c.usage_id = u.id)
          union all
          select coalesce(d.created_at, '-infinity'), d.entry_seq,
                 private.statement_entry('drip', d.id, 'drip', d.created_at, d.balance_after - d.balance_before,
                   d.balance_before, d.balance_after, true, private.drip_details(d))
            from public.token_drips d
           where d.user_id = v_user and d.is_legacy
          union all
          -- the legacy rows of an archived month, as one entry at the month's start
          select a.period_start, 0::bigint,
                 private.statement_entry('archived_usage', null, 'usage', a.period_start, -a.legacy_tokens, null, null,
                   true, private.archive_details(a))
            from public.token_usage_archives a
           where a.user_id = v_user and a.legacy_rows > 0
        ) page
        where (page.at, page.seq) < (v_at, v_seq)
          and (p_from is null or page.at >= p_from) and (p_to is null or page.at < p_to)
        order by page.at desc, page.seq desc
        limit p_limit + 1 - jsonb_array_length(v_rows)
      ) x;
    v_rows := v_rows || v_legacy;
  end if;

  -- One more row than asked says there is a next page; it starts after the last row shown.
  if jsonb_array_length(v_rows) > p_limit then
    v_last := v_rows -> (p_limit - 1);
    v_rows := v_rows - p_limit;
  end if;
  return jsonb_build_object(
    'user_id', v_user,
    'entries', coalesce((select jsonb_agg(r -> 'e' order by o) from jsonb_array_elements(v_rows) with ordinality a (r, o)), '[]'::jsonb),
    'next_cursor', case when v_last is not null then
      private.statement_cursor(v_user, (v_last ->> 'p')::integer, (v_last ->> 's')::bigint, (v_last ->> 't')::timestamptz) end);
end;
$$;
revoke execute on function public.get_token_statement(uuid, timestamptz, timestamptz, integer, text)
  from public, anon, authenticated, service_role;
grant execute on function public.get_token_statement(uuid, timestamptz, timestamptz, integer, text) to authenticated, service_role;

------------------------------------------------------------------------------------------
-- Replaying the ledger: lots and debt after any entry
------------------------------------------------------------------------------------------

-- The closing state (token_usage_archives.closing_state) of the user's latest archived month
-- that closes at or before p_upto_seq: where a replay of the user's ledger starts, since the
-- archived rows are no longer there (null: no such month). Closing states only grow with
-- period_start, so the latest month is the furthest one.
create or replace function private.archived_closing_state(p_user_id uuid, p_upto_seq bigint)
returns jsonb
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select a.closing_state from public.token_usage_archives a
   where a.user_id = p_user_id and (a.closing_state ->> 'seq')::bigint <= p_upto_seq
   order by a.period_start desc limit 1
$$;
revoke execute on function private.archived_closing_state(uuid, bigint) from public, anon, authenticated, service_role;

-- A user's ledger entries (legacy rows excluded) after p_after_seq up to p_upto_seq, with what replaying them
-- needs: the change, the transaction's type, the purchase or grant it concerns and the lot it
-- names (an expiration's metadata.lot_id), a usage's overage, a drip's subscription, cycle
-- start and expired tokens, and the balances around it. In no particular order: sort by seq.
create or replace function private.ledger_entries(p_user_id uuid, p_after_seq bigint, p_upto_seq bigint)
returns table (seq bigint, kind text, id uuid, created_at timestamptz, amount bigint, tx_type text, related uuid,
               lot_id uuid, overage bigint, sub uuid, period_start timestamptz, expired bigint,
               balance_before bigint, balance_after bigint)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select t.entry_seq, 't', t.id, t.created_at, t.token_amount, t.transaction_type, t.related_transaction_id,
         (t.metadata ->> 'lot_id')::uuid, null::bigint, null::uuid, null::timestamptz, null::bigint,
         t.balance_before, t.balance_after
    from public.token_transactions t
   where t.user_id = p_user_id and not t.is_legacy and t.entry_seq > p_after_seq and t.entry_seq <= p_upto_seq
  union all
  select u.entry_seq, 'u', u.id, u.created_at, -u.tokens, null, null, null, u.overage_tokens, null, null, null,
         u.balance_before, u.balance_after
    from public.token_usage u
   where u.user_id = p_user_id and not u.is_legacy and u.entry_seq > p_after_seq and u.entry_seq <= p_upto_seq
  union all
  select d.entry_seq, 'd', d.id, d.created_at, d.drip_amount, null, null, null, null, d.subscription_id,
         d.billing_period_start, d.expired_tokens, d.balance_before, d.balance_after
    from public.token_drips d
   where d.user_id = p_user_id and not d.is_legacy and d.entry_seq > p_after_seq and d.entry_seq <= p_upto_seq
$$;
revoke execute on function private.ledger_entries(uuid, bigint, bigint) from public, anon, authenticated, service_role;

-- The lots and debt of a user after their ledger entries up to p_upto_seq (entry_seq), found by
-- replaying those entries in order with the engine's own rules: a credit repays debt first and
-- the rest is its lot; a debit burns the lot it names first (an expiration its lapsed lot, a
-- clawback or void the purchase's or grant's lot), then live lots soonest-expiring first,
-- permanent lots last, oldest first, and what lots cannot cover becomes debt (usage: beyond
-- its overage_tokens, which go to debt directly); a drip expires its subscription's lapsed
-- lots, cuts what its row says was cut (soonest-expiring first), then adds its lot.
-- Lots' identities, sources and expiry come from token_lots; only `remaining` is replayed.
-- Result: {"debt": n, "entries": n, "lots": {"<lot id>": remaining, ...}} (every lot created
-- up to there, spent ones included).
-- Archived months (public.archive_usage) are no longer there to replay: the replay starts from
-- the closing state of the user's latest archived month that closes at or before p_upto_seq
-- (the same result, kept when the month was archived) and replays the entries after it.
create or replace function private.replay_lots(p_user_id uuid, p_upto_seq bigint)
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  -- The lots created so far, kept in burn order (expires_at nulls last, created_at, id).
  v_ids uuid[] := '{}'::uuid[];
  v_rem bigint[] := '{}'::bigint[];
  v_exp timestamptz[] := '{}'::timestamptz[];
  v_cat timestamptz[] := '{}'::timestamptz[];
  v_sub uuid[] := '{}'::uuid[];
  v_debt bigint := 0;
  v_entries integer := 0;
  v_lot public.token_lots;
  v_e record;
  v_pos integer;
  v_first uuid;
  v_need bigint;
  v_take bigint;
  v_burned bigint;
  v_amount bigint;
  v_start jsonb;
begin
  v_start := private.archived_closing_state(p_user_id, p_upto_seq);
  if v_start is not null then
    v_debt := (v_start ->> 'debt')::bigint;
    v_entries := (v_start ->> 'entries')::integer;
    select coalesce(array_agg(l.id order by l.expires_at nulls last, l.created_at, l.id), '{}'),
           coalesce(array_agg(r.value::bigint order by l.expires_at nulls last, l.created_at, l.id), '{}'),
           coalesce(array_agg(l.expires_at order by l.expires_at nulls last, l.created_at, l.id), '{}'),
           coalesce(array_agg(l.created_at order by l.expires_at nulls last, l.created_at, l.id), '{}'),
           coalesce(array_agg(l.subscription_id order by l.expires_at nulls last, l.created_at, l.id), '{}')
      into v_ids, v_rem, v_exp, v_cat, v_sub
      from jsonb_each_text(v_start -> 'lots') r
      join public.token_lots l on l.user_id = p_user_id and l.id = r.key::uuid;
  end if;
  for v_e in select e.* from private.ledger_entries(p_user_id, coalesce((v_start ->> 'seq')::bigint, 0), p_upto_seq) e
             order by e.seq
  loop
    v_entries := v_entries + 1;
    v_lot := null;
    if v_e.kind = 'd' then
      -- The subscription's lots that lapsed at this boundary, then the rollover cut.
      v_need := v_e.expired;
      for v_i in 1 .. cardinality(v_ids) loop
        if v_sub[v_i] = v_e.sub and v_rem[v_i] > 0 and v_exp[v_i] <= v_e.period_start then
          v_need := v_need - v_rem[v_i];
          v_rem[v_i] := 0;
        end if;
      end loop;
      for v_i in 1 .. cardinality(v_ids) loop
        exit when v_need <= 0;
        if v_sub[v_i] = v_e.sub and v_rem[v_i] > 0 then
          v_take := least(v_rem[v_i], v_need);
          v_rem[v_i] := v_rem[v_i] - v_take;
          v_need := v_need - v_take;
        end if;
      end loop;
      select * into v_lot from public.token_lots l where l.drip_id = v_e.id;
    elsif v_e.amount > 0 then
      select * into v_lot from public.token_lots l where l.transaction_id = v_e.id;
    elsif v_e.amount < 0 then
      -- A debit: the lot it names first, then burn order among live lots.
      v_first := case
        when v_e.tx_type = 'expiration' then v_e.lot_id
        when v_e.tx_type in ('refund', 'dispute', 'void') then
          (select l.id from public.token_lots l where l.transaction_id = v_e.related limit 1)
      end;
      v_amount := -v_e.amount - coalesce(v_e.overage, 0);
      v_need := v_amount;
      if v_first is not null then
        v_pos := array_position(v_ids, v_first);
        if v_pos is not null then
          v_take := least(v_rem[v_pos], v_need);
          v_rem[v_pos] := v_rem[v_pos] - v_take;
          v_need := v_need - v_take;
        end if;
      end if;
      for v_i in 1 .. cardinality(v_ids) loop
        exit when v_need <= 0;
        if v_rem[v_i] > 0 and (v_exp[v_i] is null or v_exp[v_i] > v_e.created_at) then
          v_take := least(v_rem[v_i], v_need);
          v_rem[v_i] := v_rem[v_i] - v_take;
          v_need := v_need - v_take;
        end if;
      end loop;
      v_burned := v_amount - v_need;
      v_debt := v_debt + (-v_e.amount - v_burned);
    end if;

    if v_lot.id is not null then
      -- A new lot, in its place in burn order; it repays debt first.
      v_take := least(v_debt, v_e.amount);
      v_debt := v_debt - v_take;
      v_pos := 1;
      while v_pos <= cardinality(v_ids)
            and (v_exp[v_pos] is not null and v_lot.expires_at is null
                 or coalesce(v_exp[v_pos] < v_lot.expires_at, false)
                 or (v_exp[v_pos] is not distinct from v_lot.expires_at
                     and (v_cat[v_pos], v_ids[v_pos]) < (v_lot.created_at, v_lot.id))) loop
        v_pos := v_pos + 1;
      end loop;
      v_ids := v_ids[1:v_pos - 1] || v_lot.id || v_ids[v_pos:];
      v_rem := v_rem[1:v_pos - 1] || (v_e.amount - v_take) || v_rem[v_pos:];
      v_exp := v_exp[1:v_pos - 1] || v_lot.expires_at || v_exp[v_pos:];
      v_cat := v_cat[1:v_pos - 1] || v_lot.created_at || v_cat[v_pos:];
      v_sub := v_sub[1:v_pos - 1] || v_lot.subscription_id || v_sub[v_pos:];
    end if;
  end loop;

  return jsonb_build_object('debt', v_debt, 'entries', v_entries,
    'lots', coalesce((select jsonb_object_agg(i.id, i.rem) from unnest(v_ids, v_rem) as i (id, rem)), '{}'::jsonb));
end;
$$;
revoke execute on function private.replay_lots(uuid, bigint) from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- get_token_balance_at
------------------------------------------------------------------------------------------

-- get_token_balance_at: a user's tokens as they were at p_at: after every ledger entry
-- written before p_at (in statement order: the state after the last such entry).
--   balance, debt: as that entry left them (balance = its balance_after: the statement agrees)
--   lots: the lots that held tokens and were live at p_at, in burn order
--   lapsed: tokens of lots that had lapsed by p_at but were not yet swept (an expiration
--           entry removes them later), so balance = sum(lots) + lapsed - debt
--   held / available: active holds at p_at; available = balance - held, never below 0
--   last_entry: the entry the state follows ({entry_id, kind, at}), null before the first
create or replace function public.get_token_balance_at(p_at timestamptz, p_user_id uuid default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := private.target_user(p_user_id, true);
  v_last record;
  v_replay jsonb;
  v_held bigint;
begin
  if p_at is null or not isfinite(p_at) then
    perform private.invalid('p_at must be a point in time.');
  end if;
  perform private.check_not_inside_archive(v_user, 'p_at', p_at);
  select x.* into v_last from (
    (select t.entry_seq as seq, t.id, 'transaction' as kind, t.created_at, t.balance_after from public.token_transactions t
      where t.user_id = v_user and not t.is_legacy and t.created_at < p_at order by t.entry_seq desc limit 1)
    union all
    (select u.entry_seq, u.id, 'usage', u.created_at, u.balance_after from public.token_usage u
      where u.user_id = v_user and not u.is_legacy and u.created_at < p_at order by u.entry_seq desc limit 1)
    union all
    (select d.entry_seq, d.id, 'drip', d.created_at, d.balance_after from public.token_drips d
      where d.user_id = v_user and not d.is_legacy and d.created_at < p_at order by d.entry_seq desc limit 1)
    union all
    (select a.last_entry_seq, null, 'archived_usage', a.last_entry_at, a.last_balance_after from public.token_usage_archives a
      where a.user_id = v_user and a.last_entry_seq is not null and a.period_end <= p_at
      order by a.last_entry_seq desc limit 1)
  ) x order by x.seq desc limit 1;

  v_replay := private.replay_lots(v_user, coalesce(v_last.seq, 0));
  select coalesce(sum(h.tokens_held), 0)::bigint into v_held from public.token_holds h
   where h.user_id = v_user and h.created_at < p_at and h.expires_at > p_at
     and (h.closed_at is null or h.closed_at >= p_at);

  return (
    select jsonb_build_object(
      'user_id', v_user,
      'at', p_at,
      'balance', coalesce(v_last.balance_after, 0),
      'debt', (v_replay ->> 'debt')::bigint,
      'held', v_held,
      'available', greatest(coalesce(v_last.balance_after, 0) - v_held, 0),
      'lots', coalesce(jsonb_agg(jsonb_build_object('lot_id', l.id, 'source', l.source, 'remaining', r.remaining,
                                                    'expires_at', l.expires_at)
                                 order by l.expires_at nulls last, l.created_at, l.id)
                         filter (where l.id is not null and (l.expires_at is null or l.expires_at > p_at)), '[]'::jsonb),
      'lapsed', coalesce(sum(r.remaining) filter (where l.expires_at <= p_at), 0),
      'last_entry', case when v_last.seq is not null then
        jsonb_build_object('entry_id', v_last.id, 'kind', v_last.kind, 'at', v_last.created_at) end)
    from (select 1) one
    left join lateral (select e.key::uuid as lot_id, e.value::bigint as remaining
                         from jsonb_each_text(v_replay -> 'lots') e
                        where e.value::bigint > 0) r on true
    left join public.token_lots l on l.user_id = v_user and l.id = r.lot_id
  );
end;
$$;
revoke execute on function public.get_token_balance_at(timestamptz, uuid) from public, anon, authenticated, service_role;
grant execute on function public.get_token_balance_at(timestamptz, uuid) to authenticated, service_role;
