-- The misfiled history: before this project, the product wrote some pack purchases and admin
-- grants to token_usage. Those legacy rows are kept as they are (the ledger never rewrites a
-- row); an operator selects them, reviews a dry run, and applies a correction: each selected
-- row gets a legacy counterpart in token_transactions of the right type, the two are linked
-- both ways (token_usage_corrections, and the counterpart's metadata.misfiled_usage_id), and
-- statements show the counterpart instead of the usage row. Legacy rows are outside the
-- ledger's arithmetic (the opening balances already carry them), so no balance moves and
-- verify_token_ledger() says the same before and after.

-- One row per corrected usage row: the mark that it was misfiled, and the link to its
-- counterpart. Primary key on the usage row (with its user, as every key of a per-user table:
-- docs/scaling.md): it is corrected at most once. No foreign key to the usage row: token_usage
-- is partitioned by month (its key is (user_id, created_at, id)); the row goes with its user.
create table if not exists public.token_usage_corrections (
  usage_id uuid not null,
  transaction_id uuid not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  transaction_type text not null,
  reason text,
  -- the reviewed plan (correct_misfiled_usage's dry run) this correction was applied from
  plan_hash text not null,
  actor_id uuid,
  corrected_at timestamptz not null default now(),
  constraint token_usage_corrections_pkey primary key (user_id, usage_id),
  constraint token_usage_corrections_transaction_id_key unique (user_id, transaction_id),
  -- the counterpart is the same user's transaction
  constraint token_usage_corrections_transaction_id_fkey foreign key (user_id, transaction_id)
    references public.token_transactions (user_id, id) on delete cascade
);

alter table public.token_usage_corrections enable row level security;
revoke all on table public.token_usage_corrections from anon, authenticated, service_role;
grant select on table public.token_usage_corrections to authenticated, service_role;
drop policy if exists "users read their own rows" on public.token_usage_corrections;
create policy "users read their own rows" on public.token_usage_corrections
  for select to authenticated using ((select auth.uid()) = user_id);

-- The legacy usage rows a selection names (every given criterion must match), each with the
-- counterpart it already has, if any.
create or replace function private.misfiled_candidates(p_usage_ids uuid[], p_feature text, p_model text, p_metadata jsonb)
returns table (usage_id uuid, user_id uuid, feature text, model text, tokens bigint, metadata jsonb,
               created_at timestamptz, corrected_by uuid)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select u.id, u.user_id, u.feature, u.model, u.tokens, u.metadata, u.created_at, c.transaction_id
    from public.token_usage u
    left join public.token_usage_corrections c on c.user_id = u.user_id and c.usage_id = u.id
   where u.is_legacy
     and (p_usage_ids is null or u.id = any (p_usage_ids))
     and (p_feature is null or u.feature = p_feature)
     and (p_model is null or u.model = p_model)
     and (p_metadata is null or coalesce(u.metadata, '{}'::jsonb) @> p_metadata)
$$;
revoke execute on function private.misfiled_candidates(uuid[], text, text, jsonb) from public, anon, authenticated, service_role;

-- correct_misfiled_usage: select legacy token_usage rows, see what they would become
-- (p_apply false, the default: a dry run that writes nothing), then apply exactly that plan
-- (p_apply true with the dry run's plan_hash). Applying is idempotent: rows corrected before
-- are reported as already corrected and written again never.
--   Selection (all given criteria must match; at least one): p_usage_ids, p_feature,
--   p_model, p_metadata (the row's metadata contains it, e.g. {"pack_id": "pack_small"}).
--   Only legacy rows are ever selected; an id of another row is 22023.
--   p_transaction_type: purchase, admin_grant, subscription_grant or trial_grant.
create or replace function public.correct_misfiled_usage(
  p_transaction_type text,
  p_usage_ids uuid[] default null,
  p_feature text default null,
  p_model text default null,
  p_metadata jsonb default null,
  p_reason text default null,
  p_apply boolean default false,
  p_plan_hash text default null
)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_bad uuid;
  v_count integer;
  v_hash text;
  v_rows jsonb;
  v_users jsonb;
  v_row record;
  v_tx_id uuid;
  v_written integer := 0;
begin
  perform private.require_service('Only the service corrects the legacy history.');
  if p_transaction_type is null or p_transaction_type not in ('purchase', 'admin_grant', 'subscription_grant', 'trial_grant') then
    perform private.invalid('p_transaction_type must be one of purchase, admin_grant, subscription_grant, trial_grant.');
  end if;
  if p_usage_ids is null and p_feature is null and p_model is null and p_metadata is null then
    perform private.invalid('Select the rows: give p_usage_ids, p_feature, p_model or p_metadata.');
  end if;
  if p_metadata is not null and jsonb_typeof(p_metadata) <> 'object' then
    perform private.invalid('p_metadata must be a JSON object (rows whose metadata contains it are selected).');
  end if;
  if p_reason is not null and length(p_reason) > 500 then
    perform private.invalid('p_reason must be at most 500 characters.');
  end if;
  if p_usage_ids is not null then
    select i.id into v_bad from unnest(p_usage_ids) i (id)
     where i.id is null or not exists (select 1 from public.token_usage u where u.id = i.id and u.is_legacy)
     limit 1;
    if found then
      perform private.invalid(format('%s is not a legacy token_usage row.', coalesce(v_bad::text, 'null')));
    end if;
  end if;
  -- One correction at a time: two applies of one plan never race to write a row twice.
  if p_apply then
    perform pg_advisory_xact_lock(hashtextextended('correct_misfiled_usage', 0));
  end if;

  select count(*), md5(p_transaction_type || ':' || coalesce(string_agg(m.usage_id::text, ',' order by m.usage_id), ''))
    into v_count, v_hash
    from private.misfiled_candidates(p_usage_ids, p_feature, p_model, p_metadata) m;
  if v_count > 10000 then
    perform private.invalid(format('The selection holds %s rows; narrow it to at most 10000.', v_count));
  end if;

  if p_apply then
    if p_plan_hash is distinct from v_hash then
      raise exception using errcode = '22023',
        message = 'p_plan_hash does not match this selection: apply only a plan you reviewed.',
        detail = format('plan_hash of this selection: %s', v_hash),
        hint = 'Run the same call with p_apply => false, review the rows, then apply with its plan_hash.';
    end if;
    for v_row in
      select m.* from private.misfiled_candidates(p_usage_ids, p_feature, p_model, p_metadata) m
       where m.corrected_by is null
       order by m.created_at nulls first, m.usage_id
    loop
      v_tx_id := gen_random_uuid();
      insert into public.token_transactions (
        id, user_id, transaction_type, token_amount, balance_before, balance_after, source, created_at, is_legacy,
        idempotency_key, metadata, actor_id, pack_id, stripe_checkout_session_id
      ) values (
        v_tx_id, v_row.user_id, p_transaction_type, v_row.tokens, null, null, 'misfiled_usage',
        coalesce(v_row.created_at, now()), true, 'legacy:misfiled:' || v_row.usage_id,
        coalesce(v_row.metadata, '{}'::jsonb) || jsonb_build_object('misfiled_usage_id', v_row.usage_id,
          'usage_feature', v_row.feature, 'usage_model', v_row.model, 'reason', p_reason),
        (select auth.uid()), v_row.metadata ->> 'pack_id',
        coalesce(v_row.metadata ->> 'stripe_checkout_session_id', v_row.metadata ->> 'stripe_session_id')
      );
      insert into public.token_usage_corrections (usage_id, transaction_id, user_id, transaction_type, reason, plan_hash, actor_id)
      values (v_row.usage_id, v_tx_id, v_row.user_id, p_transaction_type, p_reason, v_hash, (select auth.uid()));
      v_written := v_written + 1;
    end loop;
  end if;

  select coalesce(jsonb_agg(jsonb_build_object(
           'usage_id', s.usage_id, 'user_id', s.user_id, 'feature', s.feature, 'model', s.model, 'tokens', s.tokens,
           'created_at', s.created_at, 'metadata', s.metadata, 'corrected_by', s.corrected_by,
           'becomes', jsonb_build_object('transaction_type', p_transaction_type, 'token_amount', s.tokens,
             'source', 'misfiled_usage', 'pack_id', s.metadata ->> 'pack_id',
             'stripe_checkout_session_id', coalesce(s.metadata ->> 'stripe_checkout_session_id', s.metadata ->> 'stripe_session_id'),
             'created_at', s.created_at, 'is_legacy', true))
           order by s.user_id, s.created_at nulls first, s.usage_id), '[]'::jsonb)
    into v_rows from private.misfiled_candidates(p_usage_ids, p_feature, p_model, p_metadata) s;
  select coalesce(jsonb_agg(jsonb_build_object('user_id', x.user_id, 'rows', x.n, 'tokens', x.tokens) order by x.user_id), '[]'::jsonb)
    into v_users
    from (select s.user_id, count(*) as n, sum(s.tokens) as tokens
            from private.misfiled_candidates(p_usage_ids, p_feature, p_model, p_metadata) s group by s.user_id) x;

  return jsonb_build_object(
    'dry_run', not p_apply,
    'transaction_type', p_transaction_type,
    'plan_hash', v_hash,
    'rows', v_rows,
    'users', v_users,
    'total_rows', v_count,
    'total_tokens', coalesce((select sum((r ->> 'tokens')::bigint) from jsonb_array_elements(v_rows) r), 0),
    'corrected', v_written,
    'already_corrected', (select count(*) from jsonb_array_elements(v_rows) r where r ->> 'corrected_by' is not null) - v_written);
end;
$$;
revoke execute on function public.correct_misfiled_usage(text, uuid[], text, text, jsonb, text, boolean, text)
  from public, anon, authenticated, service_role;
grant execute on function public.correct_misfiled_usage(text, uuid[], text, text, jsonb, text, boolean, text) to service_role;
