-- Sign-up trials: every new user (a row inserted into auth.users: what Supabase Auth does on
-- sign-up) is granted the configured trial as a trial_grant with the key signup:<user id>,
-- ledger_settings.trial_tokens tokens (0, the default, turns trials off: an operator turns
-- them on) that expire ledger_settings.trial_lifetime after the grant (null: never).
--
-- A sign-up never fails because of its trial: the grant runs in a subtransaction, and on any
-- error the user is still created, the failure is kept in public.signup_trial_failures and a
-- WARNING goes to the database log. An operator reads the table (service role) and grants the
-- missing trial with retry_signup_trial(user), idempotent by the same key.
--
-- On Supabase the migration role, postgres, may create a trigger on auth.users (it has the
-- TRIGGER privilege there) but not drop one (Supabase Auth's role owns the table), and the
-- local compatibility layer grants the same: the trigger is created when missing and never
-- dropped; its function is ours and is replaced in place.

-- Per user (user_id leads every key, as in every per-user table: docs/scaling.md).
create table if not exists public.signup_trial_failures (
  user_id uuid not null references auth.users (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  -- the error, as the grant raised it
  sqlstate text not null,
  message text not null,
  detail text,
  -- the settings the grant was tried with
  trial_tokens bigint not null,
  trial_lifetime interval,
  failed_at timestamptz not null default now(),
  -- set by retry_signup_trial once the user has the trial: when, and the grant (the user's
  -- token_transactions row; no foreign key, which would join per-user tables off user_id)
  resolved_at timestamptz,
  transaction_id uuid,
  primary key (user_id, id)
);
create index if not exists signup_trial_failures_open_idx on public.signup_trial_failures (failed_at)
  where resolved_at is null;
comment on table public.signup_trial_failures is
  'Sign-ups whose trial grant failed (the user was created). Read by service_role; retry_signup_trial(user) grants the trial and resolves the rows.';
alter table public.signup_trial_failures enable row level security;
revoke all on table public.signup_trial_failures from anon, authenticated, service_role;
grant select on table public.signup_trial_failures to service_role;

-- The trial of one user, once: null while trials are off; the first grant's result again
-- (replayed) when the user has it. A repeat is found by its key, not by the request: the
-- expiry counts from the first grant and the settings may have changed since.
create or replace function private.grant_signup_trial(p_user_id uuid)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_settings public.ledger_settings;
  v_key text := 'signup:' || p_user_id;
  v_tx public.token_transactions;
begin
  select * into v_settings from public.ledger_settings s where s.id;
  if coalesce(v_settings.trial_tokens, 0) = 0 then
    return null;
  end if;
  perform private.lock_balance(p_user_id);
  select * into v_tx from public.token_transactions t where t.user_id = p_user_id and t.idempotency_key = v_key;
  if found then
    return private.transaction_result(v_tx, true);
  end if;
  return private.grant_tokens(
    p_user_id => p_user_id,
    p_amount => v_settings.trial_tokens,
    p_type => 'trial_grant',
    p_idempotency_key => v_key,
    p_source => 'signup',
    p_expires_at => now() + v_settings.trial_lifetime,
    p_metadata => jsonb_build_object('trial_lifetime', v_settings.trial_lifetime)
  );
end;
$$;
revoke execute on function private.grant_signup_trial(uuid) from public, anon, authenticated, service_role;

-- After each insert into auth.users. Security definer: Supabase Auth inserts as
-- supabase_auth_admin, which has no rights on the ledger.
create or replace function private.signup_trial_trigger()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_state text;
  v_message text;
  v_detail text;
  v_settings public.ledger_settings;
begin
  begin
    perform private.grant_signup_trial(new.id);
  exception when others then
    get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail;
    begin
      select * into v_settings from public.ledger_settings s where s.id;
      insert into public.signup_trial_failures (user_id, sqlstate, message, detail, trial_tokens, trial_lifetime)
      values (new.id, v_state, v_message, nullif(v_detail, ''), coalesce(v_settings.trial_tokens, 0),
              v_settings.trial_lifetime);
    exception when others then
      null; -- not even that could be written: the warning below is what remains
    end;
    raise warning using
      message = format('The sign-up trial of user %s was not granted (%s: %s); the user was created.', new.id, v_state, v_message),
      hint = 'See public.signup_trial_failures; retry_signup_trial(user) grants it.';
  end;
  return null;
end;
$$;
revoke execute on function private.signup_trial_trigger() from public, anon, authenticated, service_role;

do $$
begin
  if not exists (select 1 from pg_catalog.pg_trigger t
                 where t.tgrelid = 'auth.users'::regclass and t.tgname = 'token_ledger_signup_trial') then
    create trigger token_ledger_signup_trial
      after insert on auth.users
      for each row execute function private.signup_trial_trigger();
  end if;
end
$$;

-- retry_signup_trial: grant a user's trial after its sign-up failed to (an operator's command).
-- The current settings apply; a user who has the trial gets it replayed. Resolves the user's
-- rows of signup_trial_failures.
create or replace function public.retry_signup_trial(p_user_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_result jsonb;
begin
  perform private.require_service('Only the service grants sign-up trials.');
  if p_user_id is null then
    perform private.invalid('p_user_id is required.');
  end if;
  v_result := private.grant_signup_trial(p_user_id);
  if v_result is null then
    raise exception using
      errcode = '22023',
      message = 'Sign-up trials are off (ledger_settings.trial_tokens is 0).',
      hint = 'Turn them on first: update_ledger_settings(''{"trial_tokens": 50000}'').';
  end if;
  update public.signup_trial_failures f
     set resolved_at = now(), transaction_id = (v_result ->> 'transaction_id')::uuid
   where f.user_id = p_user_id and f.resolved_at is null;
  return v_result;
end;
$$;
revoke execute on function public.retry_signup_trial(uuid) from public, anon, authenticated, service_role;
grant execute on function public.retry_signup_trial(uuid) to service_role;
